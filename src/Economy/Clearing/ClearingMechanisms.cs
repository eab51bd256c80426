using CyAgents.Economy.Clearing.Reference;

namespace CyAgents.Economy.Clearing;

/// <summary>The mechanisms by name, as used on the command line, in configuration and in reports.</summary>
public static class ClearingMechanisms
{
    /// <summary>Every known mechanism name, in a stable order.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        FirstPriceMechanism.MechanismName,
        CriticalValueMechanism.MechanismName,
        PostedPriceMechanism.MechanismName,
        LotteryMechanism.MechanismName,
        OptimalMechanism.MechanismName,
        // The reference mechanisms of the field (src/Economy/Clearing/Reference, docs/mechanisms.md).
        VcgMechanism.MechanismName,
        DrfMechanism.MechanismName,
        ProportionalShareMechanism.MechanismName,
        UniformPriceMechanism.MechanismName,
    ];

    /// <summary>Creates the mechanism called <paramref name="name"/> (case-insensitive); false when none is.</summary>
    public static bool TryCreate(string? name, out IClearingMechanism mechanism)
    {
        mechanism = name?.Trim().ToLowerInvariant() switch
        {
            FirstPriceMechanism.MechanismName => new FirstPriceMechanism(),
            CriticalValueMechanism.MechanismName => new CriticalValueMechanism(),
            PostedPriceMechanism.MechanismName => new PostedPriceMechanism(),
            LotteryMechanism.MechanismName => new LotteryMechanism(),
            OptimalMechanism.MechanismName => new OptimalMechanism(),
            VcgMechanism.MechanismName => new VcgMechanism(),
            DrfMechanism.MechanismName => new DrfMechanism(),
            ProportionalShareMechanism.MechanismName => new ProportionalShareMechanism(),
            UniformPriceMechanism.MechanismName => new UniformPriceMechanism(),
            _ => null!,
        };
        return mechanism is not null;
    }

    /// <summary>Creates the mechanism called <paramref name="name"/>; throws <see cref="ArgumentException"/> listing the known names.</summary>
    public static IClearingMechanism Create(string name) =>
        TryCreate(name, out var mechanism)
            ? mechanism
            : throw new ArgumentException(
                $"unknown mechanism '{name}'; known mechanisms: {string.Join(", ", Names)}", nameof(name));
}
