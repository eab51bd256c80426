using System.Globalization;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Ledger;

namespace CyAgents.Persistence.Tests.Ledger;

/// <summary>
/// The test assembly's entry point. With <c>ledger-spend</c> it is a separate OS process that spends from one
/// account through its own <see cref="EfLedger"/>, so the tests can show that no account overdraws when several
/// processes spend at once (not only threads). Without arguments it does nothing, like the generated entry point.
/// </summary>
public static class LedgerSpenderProcess
{
    public const string Verb = "ledger-spend";

    /// <summary>Arguments: provider, connection string, debit account, credit account, id prefix, count, seed, go-file.</summary>
    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] != Verb) return 0;
        var options = new DatabaseOptions { Provider = args[1], ConnectionString = args[2] };
        var (debit, credit, prefix) = (args[3], args[4], args[5]);
        var count = int.Parse(args[6], CultureInfo.InvariantCulture);
        var random = new Random(int.Parse(args[7], CultureInfo.InvariantCulture));
        var go = args[8];
        await using var ledger = EfLedger.Open(options);
        await ledger.GetBalanceAsync(debit); // connect and warm up before the start signal
        Console.WriteLine("ready");
        while (!File.Exists(go)) await Task.Delay(5);
        long spent = 0;
        var refused = 0;
        for (var i = 0; i < count; i++)
        {
            var amount = random.NextInt64(1, 200);
            try
            {
                await ledger.TransferAsync(new TransferRequest($"{prefix}:{i}", debit, credit, amount, TransferKind.Gift));
                spent += amount;
            }
            catch (LedgerException ex) when (ex.Error == LedgerError.InsufficientFunds)
            {
                refused++;
            }
        }
        Console.WriteLine($"spent={spent} refused={refused}");
        return 0;
    }
}
