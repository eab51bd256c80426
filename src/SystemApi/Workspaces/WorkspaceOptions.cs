namespace CyAgents.SystemApi.Workspaces;

/// <summary>Where workspaces live (configuration section <c>Workspaces</c>).</summary>
public sealed class WorkspaceOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Workspaces";

    /// <summary>Folder holding one workspace per agent.</summary>
    public string Root { get; set; } = "workspaces";

    /// <summary>Template copied into a new agent's workspace when nothing else is named (the Genesis template).</summary>
    public string Template { get; set; } = "workspaces/genesis";

    /// <summary>
    /// Folder of named templates: each subfolder with an <c>agent.json</c> is a template named after the folder, which a
    /// spawn request may name (<c>"template": "genesis"</c>). An agent's own workspace is never a template, even where this
    /// folder is also <see cref="Root"/>.
    /// </summary>
    public string Templates { get; set; } = "workspaces";

    /// <summary>
    /// Size of each agent's workspace in MiB: a file system of its own (an ext4 image on a loop device, mounted as the
    /// workspace), so no agent can fill the host's disk. 0 turns the quota off (not for hostile agents).
    /// </summary>
    public int QuotaMiB { get; set; } = 256;

    /// <summary>Files and folders each agent's workspace may hold (the image's inode count).</summary>
    public int QuotaInodes { get; set; } = 16_384;

    /// <summary>What is wrong, each message starting with its key below <c>Workspaces</c>; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        // mkfs.ext4 refuses smaller images; 0 is the documented "off".
        if (QuotaMiB is < 0 or > 0 and < 8) errors.Add($"QuotaMiB must be 0 (off) or at least 8 (got {QuotaMiB})");
        if (QuotaInodes < 64) errors.Add($"QuotaInodes must be at least 64 (got {QuotaInodes})");
        if (string.IsNullOrWhiteSpace(Root)) errors.Add("Root must not be empty");
        if (string.IsNullOrWhiteSpace(Template)) errors.Add("Template must not be empty");
        return errors;
    }
}
