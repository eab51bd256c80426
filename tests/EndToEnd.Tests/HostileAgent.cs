using System.Collections.Concurrent;
using CyAgents.Economy.Ledger;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Persistence;
using CyAgents.Persistence.Bids;
using CyAgents.Persistence.Records;
using CyAgents.Economy.Resources;
using CyAgents.SystemApi.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyAgents.EndToEnd.Tests;

/// <summary>
/// The project's hostile test agent: busybox sh scripts in a FROM scratch image (Debian's static busybox, installed by
/// scripts/ensure-busybox), plus a hand-assembled static probe that calls io_uring_setup. It runs in real containers on
/// the real engine, beside Genesis, inside live cycles.
/// </summary>
internal static class HostileAgent
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _image;

    /// <summary>The probe's path inside the image: exits with the errno of io_uring_setup (1 = EPERM), 253 when it got fd 3.</summary>
    public const string UringProbe = "/bin/uring-probe";

    /// <summary>Builds (once per run) the hostile image; installs busybox-static first when it is missing.</summary>
    public static async Task<string> ImageAsync(DockerEngine engine)
    {
        await Gate.WaitAsync();
        try
        {
            if (_image is not null) return _image;
            if (!File.Exists(ShellImage.DefaultBusybox))
            {
                var script = Path.Combine(AgentImage.FindSourceRoot(), "scripts", "ensure-busybox");
                using var process = System.Diagnostics.Process.Start(script)!;
                await process.WaitForExitAsync();
                if (process.ExitCode != 0) throw new InvalidOperationException($"{script} failed ({process.ExitCode}); the hostile agent needs a static busybox");
            }
            return _image = await new ShellImage(engine).EnsureAsync(new Dictionary<string, byte[]> { [UringProbe] = UringProbeElf() });
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>A sandbox wrapper that runs <paramref name="agentId"/> as the hostile agent with the script of each cycle.</summary>
    public static Func<ISandbox, ISandbox> As(string agentId, string image, Func<long, string> scriptOfCycle,
        ConcurrentDictionary<string, ExecutionOutcome>? outcomes = null) =>
        inner => new Wrapper(inner, agentId, image, scriptOfCycle, outcomes ?? new());

    /// <summary>A sandbox wrapper that runs <paramref name="agentId"/> with the program of each cycle (e.g. a Python hostile agent).</summary>
    public static Func<ISandbox, ISandbox> AsProgram(string agentId, Func<long, AgentProgram> programOfCycle,
        ConcurrentDictionary<string, ExecutionOutcome> outcomes) =>
        inner => new ProgramWrapper(inner, agentId, programOfCycle, outcomes);

    private sealed class ProgramWrapper(ISandbox inner, string agentId, Func<long, AgentProgram> programOfCycle,
        ConcurrentDictionary<string, ExecutionOutcome> outcomes) : ISandbox
    {
        public async Task<ExecutionOutcome> RunAsync(ExecutionRequest request, CancellationToken ct)
        {
            if (request.AgentId != agentId) return await inner.RunAsync(request, ct);
            var outcome = await inner.RunAsync(request with { Program = programOfCycle(request.Cycle) }, ct);
            outcomes[request.ExecutionId] = outcome;
            return outcome;
        }
    }

    /// <summary>Creates the hostile agent with credits, as a spawn would (it never bids by itself: see <see cref="BidAsync"/>).</summary>
    public static async Task AddAsync(LiveEconomy economy, string id, long credits)
    {
        var databases = economy.Services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>();
        var ledgers = economy.Services.GetRequiredService<LedgerBinding>();
        await using var db = await databases.CreateDbContextAsync();
        await using var tx = await db.Database.BeginTransactionAsync();
        var ledger = ledgers(db);
        await ledger.OpenAccountAsync(AccountIds.ForAgent(id), AccountKind.Agent);
        await ledger.TransferAsync(new TransferRequest($"{id}:endowment", AccountIds.Treasury, AccountIds.ForAgent(id), credits,
            TransferKind.Endowment, Memo: "hostile test agent"));
        db.Add(new AgentRecord { Id = id, Name = id, RootId = id, CreatedAt = DateTimeOffset.UtcNow });
        await db.SaveChangesAsync();
        await tx.CommitAsync();
    }

    /// <summary>Places a bid for the hostile agent through the bid book (busybox has no HTTP client for the API's socket).</summary>
    public static async Task BidAsync(LiveEconomy economy, string agentId, long cycle, ResourceBundle bundle, long amount)
    {
        var databases = economy.Services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>();
        var ledgers = economy.Services.GetRequiredService<LedgerBinding>();
        await using var db = await databases.CreateDbContextAsync();
        await using var tx = await db.Database.BeginTransactionAsync();
        await new BidBook(db, ledgers(db)).PlaceAsync(new BidPlacement($"{agentId}-c{cycle}", agentId, cycle, bundle, amount, DateTimeOffset.UtcNow), default);
        await db.SaveChangesAsync();
        await tx.CommitAsync();
    }

    private sealed class Wrapper(ISandbox inner, string agentId, string image, Func<long, string> scriptOfCycle,
        ConcurrentDictionary<string, ExecutionOutcome> outcomes) : ISandbox
    {
        public async Task<ExecutionOutcome> RunAsync(ExecutionRequest request, CancellationToken ct)
        {
            if (request.AgentId != agentId) return await inner.RunAsync(request, ct);
            var outcome = await inner.RunAsync(request with { Program = new AgentProgram(image, ["/bin/sh", "-c", scriptOfCycle(request.Cycle)]) }, ct);
            outcomes[request.ExecutionId] = outcome;
            return outcome;
        }
    }

    /// <summary>
    /// A 64-bit static ELF of 165 bytes: zeroes 128 bytes of stack for io_uring_params, calls io_uring_setup(1, params)
    /// (syscall 425) and exits with minus its result: the errno, or 256 - fd on success.
    /// </summary>
    public static byte[] UringProbeElf()
    {
        byte[] code =
        [
            0x48, 0x81, 0xEC, 0x00, 0x01, 0x00, 0x00, // sub rsp, 256
            0x48, 0x89, 0xE7,                         // mov rdi, rsp
            0xB9, 0x80, 0x00, 0x00, 0x00,             // mov ecx, 128
            0x31, 0xC0,                               // xor eax, eax
            0xF3, 0xAA,                               // rep stosb
            0xBF, 0x01, 0x00, 0x00, 0x00,             // mov edi, 1
            0x48, 0x89, 0xE6,                         // mov rsi, rsp
            0xB8, 0xA9, 0x01, 0x00, 0x00,             // mov eax, 425 (io_uring_setup)
            0x0F, 0x05,                               // syscall
            0xF7, 0xD8,                               // neg eax
            0x89, 0xC7,                               // mov edi, eax
            0xB8, 0x3C, 0x00, 0x00, 0x00,             // mov eax, 60 (exit)
            0x0F, 0x05,                               // syscall
        ];
        const ulong baseAddress = 0x400000;
        const int headers = 64 + 56;
        using var stream = new MemoryStream();
        using var w = new BinaryWriter(stream);
        w.Write([0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        w.Write((ushort)2); w.Write((ushort)0x3E); w.Write(1u);
        w.Write(baseAddress + headers); w.Write(64UL); w.Write(0UL); w.Write(0u);
        w.Write((ushort)64); w.Write((ushort)56); w.Write((ushort)1); w.Write((ushort)0); w.Write((ushort)0); w.Write((ushort)0);
        var total = (ulong)(headers + code.Length);
        w.Write(1u); w.Write(5u); w.Write(0UL); w.Write(baseAddress); w.Write(baseAddress); w.Write(total); w.Write(total); w.Write(0x1000UL);
        w.Write(code);
        w.Flush();
        return stream.ToArray();
    }
}
