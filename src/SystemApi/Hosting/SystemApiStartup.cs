using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Logging;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Hosting;

/// <summary>
/// Start-up work before the first request: schema, treasury and escrow accounts, operator token. Once the server
/// listens, opens the unix socket to the sandbox user (mode 0666, folder o+x; Kestrel creates it 0755 as root).
/// </summary>
internal sealed class SystemApiStartup(
    IOptions<DatabaseOptions> database, IOptions<SystemApiOptions> api, OperatorToken operatorToken,
    IDbContextFactory<CyAgentsDbContext> databases, LedgerBinding ledgers, IHostApplicationLifetime lifetime,
    ILogger<SystemApiStartup> log) : IHostedService
{
    public async Task StartAsync(CancellationToken ct)
    {
        await DatabaseSetup.EnsureCreatedAsync(database.Value, ct);
        await using (var db = await databases.CreateDbContextAsync(ct))
        {
            await using var bound = ledgers.Bind(db);
            await bound.Ledger.OpenAccountAsync(AccountIds.Treasury, AccountKind.Treasury, ct);
            await bound.Ledger.OpenAccountAsync(AccountIds.Escrow, AccountKind.Escrow, ct);
        }
        operatorToken.Ensure();
        lifetime.ApplicationStarted.Register(OpenSocketToSandboxes);
    }

    private void OpenSocketToSandboxes()
    {
        var socket = api.Value.SocketPath;
        if (string.IsNullOrWhiteSpace(socket) || OperatingSystem.IsWindows()) return;
        var path = Path.GetFullPath(socket);
        if (!File.Exists(path)) return; // hosted without Kestrel (tests) or no socket configured
        const UnixFileMode everyone = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead |
                                      UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
        File.SetUnixFileMode(path, everyone);
        var dir = Path.GetDirectoryName(path)!;
        File.SetUnixFileMode(dir, File.GetUnixFileMode(dir) | UnixFileMode.OtherExecute | UnixFileMode.GroupExecute);
        using (log.BeginSystemScope(SystemLog.SystemApi))
            log.LogInformation("System API listening on unix socket {SocketPath} (mode 0666)", path);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
