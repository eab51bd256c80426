using CyAgents.SystemApi.Agents;

namespace CyAgents.Orchestrator.Sandbox;

/// <summary>
/// The runtimes available until the offline runtime builds land (issue 10, part B, replaces this registration): only
/// <c>dotnet</c>, which is today's Genesis agent image (the .NET runtime with the agent at /app/genesis-agent); any other
/// name is refused with a message that says so.
/// </summary>
public sealed class GenesisRuntimeImages(Func<CancellationToken, Task<string>> genesisImage) : IRuntimeImages
{
    public Task<string> EnsureAsync(string runtime, CancellationToken ct = default) => runtime == RuntimeNames.Dotnet
        ? genesisImage(ct)
        : throw new NotSupportedException(
            $"runtime '{runtime}' cannot be built by this host yet: only '{RuntimeNames.Dotnet}' is available");
}
