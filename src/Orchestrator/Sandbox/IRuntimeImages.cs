namespace CyAgents.Orchestrator.Sandbox;

/// <summary>
/// Turns a built-in runtime name (<c>CyAgents.SystemApi.Agents.RuntimeNames</c>) into an image the engine has, building it
/// offline on first use; the image is content-addressed, so an unchanged runtime is never rebuilt.
/// </summary>
public interface IRuntimeImages
{
    /// <summary>The image tag for <paramref name="runtime"/>, built if the engine lacks it; throws for an unknown name.</summary>
    Task<string> EnsureAsync(string runtime, CancellationToken ct = default);
}
