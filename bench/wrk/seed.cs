#:project ../../src/SystemApi/SystemApi.csproj
#:property PublishAot=false
// Seeds a benchmark agent into a System API database: an agent record, an account endowed from the treasury,
// and a token for a synthetic execution. Prints the token (stdout, one line).
// Usage: dotnet run seed.cs -- <database-file> <agent-id> <credits>
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: dotnet run seed.cs -- <database-file> <agent-id> <credits>");
    return 2;
}
var (path, agentId, credits) = (args[0], args[1], long.Parse(args[2]));
var options = DatabaseOptions.ForSqliteFile(path);
await DatabaseSetup.EnsureCreatedAsync(options);
var factory = new PooledDbContextFactory<CyAgentsDbContext>(options.BuildOptions());
await using (var db = factory.CreateDbContext())
{
    if (await db.Set<AgentRecord>().FindAsync(agentId) is null)
    {
        db.Add(new AgentRecord { Id = agentId, Name = agentId, RootId = agentId, CreatedAt = DateTimeOffset.UtcNow });
        await db.SaveChangesAsync();
    }
    await using var ledger = new EfLedger(db);
    await ledger.OpenAccountAsync(AccountIds.Treasury, AccountKind.Treasury);
    await ledger.OpenAccountAsync(AccountIds.Escrow, AccountKind.Escrow);
    await ledger.OpenAccountAsync(AccountIds.ForAgent(agentId), AccountKind.Agent);
    await ledger.TransferAsync(new TransferRequest($"bench-seed:{agentId}:{Guid.NewGuid():N}", AccountIds.Treasury,
        AccountIds.ForAgent(agentId), credits, TransferKind.Endowment, Memo: "benchmark endowment"));
}
var tokens = new AgentTokenService(factory, TimeProvider.System, NullLogger<AgentTokenService>.Instance);
Console.WriteLine((await tokens.IssueAsync(agentId, $"bench-{Guid.NewGuid():N}", 1)).Token);
return 0;
