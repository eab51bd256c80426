using System.Text.Json;
using CyAgents.Contracts.Sandbox;
using CyAgents.GenesisAgent;

// The Genesis agent: one turn per execution, then exit. Everything it knows comes from its workspace.
var workspace = args.Length >= 2 && args[0] == "--workspace" ? args[1] : "/workspace";
var log = Console.Out;
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };

await DebuggerWait.WaitIfAskedAsync(log, cancel.Token);

// The context comes from the read-only file the orchestrator names in CYAGENTS_ENV; only outside a sandbox (a developer's
// run with --workspace, where no orchestrator set the variable) is it looked for in the workspace itself.
var envPath = Environment.GetEnvironmentVariable(AgentEnvironment.Variable) is { Length: > 0 } fromHost
    ? fromHost
    : Path.Combine(workspace, AgentEnvironment.FileName);
AgentEnvironment? env;
try
{
    env = JsonSerializer.Deserialize(File.ReadAllText(envPath), AgentJson.Default.AgentEnvironment);
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
{
    Console.Error.WriteLine($"genesis-agent: cannot read {envPath}: {e.Message}");
    return 2;
}
if (env is null)
{
    Console.Error.WriteLine($"genesis-agent: {envPath} is empty");
    return 2;
}

var strategyPath = Path.Combine(workspace, Strategy.FileName);
Strategy strategy;
try
{
    strategy = File.Exists(strategyPath)
        ? Strategy.Parse(File.ReadAllText(strategyPath))
        : new Strategy();
}
catch (JsonException e)
{
    Console.Error.WriteLine($"genesis-agent: {strategyPath} is not valid: {e.Message}");
    return 2;
}

log.WriteLine($"genesis-agent {env.AgentId}: execution {env.ExecutionId}, cycle {env.Cycle}, deadline {env.Deadline:O}");
using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token);
var left = env.Deadline - DateTimeOffset.UtcNow;
if (left > TimeSpan.Zero) deadline.CancelAfter(left);

using var api = new SocketAgentApi(env.ApiSocket, env.Token);
try
{
    return await new AgentTurn(api, env, strategy, workspace, log).RunAsync(deadline.Token);
}
catch (ApiUnreachableException e)
{
    Console.Error.WriteLine($"genesis-agent: {e.Message}");
    return 3;
}
catch (AgentApiException e)
{
    Console.Error.WriteLine($"genesis-agent: the System API refused a request: {e.Message}");
    return 4;
}
