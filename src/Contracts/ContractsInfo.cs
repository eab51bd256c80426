namespace CyAgents.Contracts;

/// <summary>Version of the wire contracts shared by the System API and agents.</summary>
public static class ContractsInfo
{
    /// <summary>The API version these contracts describe.</summary>
    public const string ApiVersion = "v1";
}
