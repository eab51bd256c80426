using CyAgents.Economy.Ledger;

namespace CyAgents.Economy.Tests.Ledger;

public abstract partial class LedgerBehaviourTests
{
    /// <summary>How often the random walk runs the full conservation check (with log replay).</summary>
    protected virtual int FullCheckEvery => 500;

    [Fact]
    public async Task Seeded_random_operations_keep_the_invariant_after_every_step_and_agree_with_the_model()
    {
        const int Agents = 20;
        var random = new Random(20_261_122);
        var model = new LedgerModel();
        var accounts = new List<string>();
        for (var a = 0; a < Agents; a++)
        {
            var id = $"agent:{a}";
            accounts.Add(id);
            await Ledger.OpenAccountAsync(id, AccountKind.Agent);
            model.Open(id, AccountKind.Agent);
        }
        var everyAccount = accounts.Concat([AccountIds.Treasury, AccountIds.Escrow]).ToList();
        var pendings = new List<(string Id, long Amount)>();
        var history = new List<LedgerOperation>();
        var counts = new Dictionary<string, int>();

        string Agent() => accounts[random.Next(accounts.Count)];
        string AnyAccount() => everyAccount[random.Next(everyAccount.Count)];
        long Amount() => random.NextInt64(1, 400);
        TransferKind Kind() => (TransferKind)random.Next(0, 10);
        long? Cycle() => random.Next(4) == 0 ? null : random.Next(0, 50);

        for (var step = 0; step < RandomOperationCount; step++)
        {
            IReadOnlyList<LedgerOperation> batch;
            string label;
            var roll = random.Next(100);
            if (step < Agents)
            {
                (label, batch) = ("endowment", [new TransferRequest($"endow:{step}", AccountIds.Treasury, accounts[step], 1_000, TransferKind.Endowment, 0)]);
            }
            else if (roll < 25)
            {
                var debit = random.Next(10) == 0 ? AccountIds.Treasury : Agent();
                (label, batch) = ("transfer", [new TransferRequest($"t:{step}", debit, AnyAccount(), Amount(), Kind(), Cycle(), random.Next(3) == 0 ? $"memo {step}" : null)]);
            }
            else if (roll < 45)
            {
                var amount = Amount();
                var id = $"bid:{step}:escrow";
                pendings.Add((id, amount));
                (label, batch) = ("escrow", [new TransferRequest(id, Agent(), AccountIds.Escrow, amount, TransferKind.BidEscrow, Cycle(), Pending: true)]);
            }
            else if (roll < 62 && pendings.Count > 0)
            {
                var (pid, amount) = pendings[random.Next(pendings.Count)];
                var how = random.Next(10);
                PendingResolution r = how < 3 ? new($"{pid}:void:{step}", pid, Void: true)
                    : how < 6 ? new($"{pid}:post:{step}", pid, Void: false, Cycle: Cycle())
                    : new($"{pid}:part:{step}", pid, Void: false, Amount: random.NextInt64(0, amount + 20));
                (label, batch) = ("resolve", [r]);
            }
            else if (roll < 74 && history.Count > 0)
            {
                var old = history[random.Next(history.Count)];
                LedgerOperation replay = random.Next(2) == 0 ? old : old switch
                {
                    TransferRequest t => t with { Amount = t.Amount + 1 },
                    PendingResolution p => p with { Memo = "changed" },
                    _ => old,
                };
                (label, batch) = (ReferenceEquals(replay, old) ? "replay" : "replay-changed", [replay]);
            }
            else if (roll < 84 && pendings.Count > 0)
            {
                var (pid, amount) = pendings[random.Next(pendings.Count)];
                var payment = random.NextInt64(1, amount + 1);
                (label, batch) = ("settlement", [
                    new PendingResolution($"{pid}:settle:{step}", pid, Void: false, Amount: payment, Cycle: 1),
                    new TransferRequest($"{pid}:charge:{step}", AccountIds.Escrow, AccountIds.Treasury, payment, TransferKind.ClearingCharge, 1),
                ]);
            }
            else if (roll < 92)
            {
                var ok = new TransferRequest($"bad:{step}", Agent(), Agent(), Amount(), TransferKind.Gift);
                TransferRequest bad = random.Next(6) switch
                {
                    0 => ok with { Amount = 0 },
                    1 => ok with { Amount = -random.NextInt64(1, 1_000) },
                    2 => ok with { Amount = long.MaxValue },
                    3 => ok with { CreditAccountId = "agent:ghost" },
                    4 => ok with { CreditAccountId = ok.DebitAccountId },
                    _ => ok with { Amount = 1_000_000 },
                };
                (label, batch) = ("bad", [bad]);
            }
            else if (roll < 96)
            {
                (label, batch) = ("charge", [new TransferRequest($"c:{step}", AccountIds.Escrow, AccountIds.Treasury, Amount(), TransferKind.ClearingCharge)]);
            }
            else
            {
                (label, batch) = ("reward", [new TransferRequest($"r:{step}", AccountIds.Treasury, Agent(), Amount(), TransferKind.HumanReward)]);
            }

            var expected = model.Apply(batch);
            IReadOnlyList<Transfer>? actual = null;
            LedgerError? error = null;
            try
            {
                actual = batch.Count > 1 ? await Ledger.ApplyBatchAsync(batch)
                    : batch[0] is TransferRequest t ? [await Ledger.TransferAsync(t)]
                    : [await Ledger.ResolveAsync((PendingResolution)batch[0])];
            }
            catch (LedgerException ex)
            {
                error = ex.Error;
                ex.Message.ShouldNotBeNullOrWhiteSpace();
            }
            var outcome = error?.ToString() ?? "ok";
            counts[$"{label}:{outcome}"] = counts.GetValueOrDefault($"{label}:{outcome}") + 1;
            error.ShouldBe(expected.Error, $"step {step} ({label})");
            if (actual is not null) actual.ShouldBe(expected.Results!, $"step {step} ({label})");
            history.AddRange(batch);

            var balances = await Ledger.GetBalancesAsync();
            balances.ShouldBe(model.Balances(), $"step {step} ({label})");
            balances.Aggregate(Int128.Zero, (sum, b) => sum + b.Posted).ShouldBe(Int128.Zero, $"step {step}: posted balances must sum to zero");
            balances.Sum(b => b.Reserved).ShouldBe(balances.Sum(b => b.Incoming), $"step {step}: pending out must equal pending in");
            balances.Where(b => b.AccountId != AccountIds.Treasury && b.Available < 0).ShouldBeEmpty($"step {step}: overdraft");
            if (step % FullCheckEvery == 0 || step == RandomOperationCount - 1)
            {
                var report = await Ledger.CheckConservationAsync();
                report.Holds.ShouldBeTrue($"step {step}: {report}");
            }
        }

        (await CountStoredTransfersAsync()).ShouldBe(model.TransferCount);
        // The walk must really exercise each path, successes and refusals alike.
        foreach (var path in new[] { "escrow:ok", "resolve:ok", "resolve:PendingAlreadyResolved", "resolve:PostExceedsPending",
                     "replay:ok", "replay-changed:IdConflict", "settlement:ok", "transfer:InsufficientFunds", "bad:InvalidAmount",
                     "bad:UnknownAccount", "bad:SameAccount", "charge:InsufficientFunds" })
            counts.GetValueOrDefault(path).ShouldBeGreaterThan(0, $"path {path} never ran; counts: {string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Key}={c.Value}"))}");
    }
}
