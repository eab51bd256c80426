using BenchmarkDotNet.Running;
using CyAgents.Benchmarks.Clearing;

// "cpu-ratios [bids] [rounds]": the clearing ratios in thread CPU time (see CpuTimeRatios); otherwise BenchmarkDotNet.
if (args.Length > 0 && args[0] == "cpu-ratios")
{
    CpuTimeRatios.Run(args.Length > 1 ? int.Parse(args[1]) : 100_000, args.Length > 2 ? int.Parse(args[2]) : 30);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
