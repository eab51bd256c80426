using CyAgents.Contracts;
using CyAgents.Economy.Resources;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>
/// The one mapping each way between a bundle and its wire type, used by the API's responses, by bid placement and by the
/// orchestrator's env.json (the agent side only knows <see cref="ResourceBundleDto"/>).
/// </summary>
public static class BundleWire
{
    /// <summary>The bundle as it travels.</summary>
    public static ResourceBundleDto ToWire(this ResourceBundle b) => new(b.CpuMillicores, b.MemoryMiB, b.Tokens, b.AttentionBasisPoints);

    /// <summary>The bundle a wire value names; throws <see cref="ArgumentOutOfRangeException"/> on a negative quantity (validate first).</summary>
    public static ResourceBundle ToBundle(this ResourceBundleDto b) => ResourceBundle.Create(b.CpuMillicores, b.MemoryMiB, b.Tokens, b.AttentionBasisPoints);
}
