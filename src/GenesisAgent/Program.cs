Console.WriteLine("genesis-agent");
return 0;
