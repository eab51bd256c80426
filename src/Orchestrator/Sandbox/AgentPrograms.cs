using CyAgents.SystemApi.Agents;

namespace CyAgents.Orchestrator.Sandbox;

/// <summary>An agent's manifest names an image the engine does not have (an <c>image</c> agent); its launch fails, clearly.</summary>
public sealed class AgentImageMissingException(string image)
    : Exception($"the engine has no image '{image}' (the agent's manifest names it; no registry is reachable: build or load it with docker first)")
{
    public string Image { get; } = image;
}

/// <summary>
/// Turns an agent's stored manifest into what the sandbox runs: the runtime's image (<see cref="IRuntimeImages"/>, built
/// offline on first use) or the manifest's own image (which the engine must already have), the manifest's argv, and its
/// variables (which the sandbox puts under the system's own). The sandbox rules are the same for every program.
/// </summary>
public sealed class AgentPrograms(IRuntimeImages runtimes, Func<string, CancellationToken, Task<bool>> engineHasImage)
{
    /// <summary>The program for <paramref name="manifest"/>; throws <see cref="AgentImageMissingException"/> for a missing image.</summary>
    public async Task<AgentProgram> ForAsync(AgentManifest manifest, CancellationToken ct)
    {
        string image;
        if (manifest.Runtime is { } runtime) image = await runtimes.EnsureAsync(runtime, ct);
        else
        {
            image = manifest.Image ?? throw new ArgumentException("a manifest names a runtime or an image", nameof(manifest));
            if (!await engineHasImage(image, ct)) throw new AgentImageMissingException(image);
        }
        return new AgentProgram(image, manifest.Command) { Env = manifest.Env };
    }
}
