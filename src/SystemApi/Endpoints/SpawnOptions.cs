namespace CyAgents.SystemApi.Endpoints;

/// <summary>Spawn rules (configuration section <c>Spawn</c>).</summary>
public sealed class SpawnOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Spawn";

    /// <summary>Credits the parent pays the treasury per child.</summary>
    public long Fee { get; set; } = 10;

    /// <summary>Smallest endowment a child may get.</summary>
    public long MinEndowment { get; set; } = 1;

    /// <summary>Deepest generation allowed (genesis is 0).</summary>
    public int MaxGeneration { get; set; } = 8;

    /// <summary>Children one parent may spawn in one cycle.</summary>
    public int MaxChildrenPerCycle { get; set; } = 3;
}
