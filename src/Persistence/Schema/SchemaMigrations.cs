namespace CyAgents.Persistence.Schema;

/// <summary>
/// The schema's history after the baseline. Version 1 is the schema the EF model created before versions were
/// recorded (issue 8); each later change of the model adds one <see cref="SchemaMigration"/> here, with the same
/// change made to the records, so a new database (created from the model) and an upgraded one end up alike
/// (the schema tests compare them).
/// </summary>
public static class SchemaMigrations
{
    /// <summary>The version of the schema before any migration: what <c>EnsureCreated</c> made up to issue 8.</summary>
    public const int Baseline = 1;

    /// <summary>The steps after the baseline, in order (versions 2, 3, ...). None yet: the model is still version 1.</summary>
    public static IReadOnlyList<SchemaMigration> All { get; } = [];

    /// <summary>The version this build creates and upgrades to.</summary>
    public static int Current => CurrentOf(All);

    /// <summary>The version a list of steps leads to; checks they number on from the baseline without gaps.</summary>
    internal static int CurrentOf(IReadOnlyList<SchemaMigration> steps)
    {
        for (var i = 0; i < steps.Count; i++)
        {
            if (steps[i].Version != Baseline + 1 + i)
                throw new InvalidOperationException(
                    $"schema migration '{steps[i].Description}' has version {steps[i].Version}; expected {Baseline + 1 + i} (steps number on from {Baseline} without gaps)");
        }
        return Baseline + steps.Count;
    }
}
