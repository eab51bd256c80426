using CyAgents.Economy.Resources;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Persistence.Records;

/// <summary>
/// A <see cref="ResourceBundle"/> stored as four integer columns named as they always were (the schema must not change).
/// The records keep these as private properties behind one <c>ResourceBundle</c> property, so this is the one mapping.
/// </summary>
internal static class BundleColumns
{
    public static readonly string[] Names = ["CpuMillicores", "MemoryMiB", "Tokens", "AttentionBasisPoints"];

    public static void Map<T>(EntityTypeBuilder<T> b) where T : class
    {
        foreach (var name in Names) b.Property<long>(name);
    }
}
