namespace CyAgents.SystemApi.Workspaces;

/// <summary>Where workspaces live (configuration section <c>Workspaces</c>).</summary>
public sealed class WorkspaceOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Workspaces";

    /// <summary>Folder holding one workspace per agent.</summary>
    public string Root { get; set; } = "workspaces";

    /// <summary>Template copied into every new agent's workspace.</summary>
    public string Template { get; set; } = "workspaces/genesis";
}
