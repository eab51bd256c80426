Console.WriteLine("cyagents: commands are being built (run, simulate, clear).");
return 0;
