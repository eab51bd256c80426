using System.Runtime.InteropServices;
using System.Text.Json;
using CyAgents.Contracts.Sandbox;
using CyAgents.Orchestrator.Sandbox;

namespace CyAgents.Orchestrator.Workspaces;

/// <summary>
/// The per-agent folders under the workspaces root: <c>&lt;root&gt;/&lt;agent-id&gt;</c>, created from the
/// <c>genesis</c> template, owned by the sandbox user so the agent can write its journal, and never shared.
/// </summary>
public sealed class AgentWorkspaces(string root, string template)
{
    private static readonly JsonSerializerOptions EnvJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public string Root { get; } = Path.GetFullPath(root);
    public string Template { get; } = Path.GetFullPath(template);

    /// <summary>The folder of one agent (not created).</summary>
    public string PathOf(string agentId)
    {
        if (string.IsNullOrWhiteSpace(agentId) || agentId.IndexOfAny(['/', '\\', '\0']) >= 0 || agentId is "." or "..")
            throw new ArgumentException($"'{agentId}' is not a valid agent id for a workspace folder", nameof(agentId));
        var path = Path.Combine(Root, agentId);
        if (string.Equals(Path.GetFullPath(path).TrimEnd('/'), Template.TrimEnd('/'), StringComparison.Ordinal))
            throw new ArgumentException($"agent '{agentId}' would run in the workspace template {Template}; give it another id", nameof(agentId));
        return path;
    }

    /// <summary>Creates the agent's workspace from the template if it is new; writes its own strategy when given.</summary>
    public string Prepare(string agentId, string? strategyJson)
    {
        var path = PathOf(agentId);
        if (!Directory.Exists(path))
        {
            Directory.CreateDirectory(path);
            if (Directory.Exists(Template))
            {
                foreach (var file in Directory.EnumerateFiles(Template, "*", SearchOption.AllDirectories))
                {
                    var target = Path.Combine(path, Path.GetRelativePath(Template, file));
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    File.Copy(file, target);
                }
            }
            if (!string.IsNullOrWhiteSpace(strategyJson))
                File.WriteAllText(Path.Combine(path, "strategy.json"), strategyJson);
        }
        GiveToSandboxUser(path);
        return path;
    }

    /// <summary>Writes env.json (readable by the sandbox user only: it carries the token).</summary>
    public void WriteEnvironment(string workspace, AgentEnvironment environment)
    {
        var path = Path.Combine(workspace, AgentEnvironment.FileName);
        File.WriteAllText(path, JsonSerializer.Serialize(environment, EnvJson));
        if (OperatingSystem.IsWindows()) return;
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Chown(path);
    }

    private static void GiveToSandboxUser(string path)
    {
        Chown(path);
        foreach (var entry in Directory.EnumerateFileSystemEntries(path, "*", SearchOption.AllDirectories))
            Chown(entry);
    }

    // Only root may hand files to uid 10001; elsewhere (a developer's own uid) the folder is opened up instead.
    private static void Chown(string path)
    {
        if (OperatingSystem.IsWindows()) return;
        if (geteuid() == 0)
        {
            if (chown(path, AgentImage.SandboxUid, AgentImage.SandboxUid) != 0)
                throw new IOException($"cannot give {path} to uid {AgentImage.SandboxUid} (errno {Marshal.GetLastPInvokeError()})");
        }
        else if (Directory.Exists(path))
        {
            File.SetUnixFileMode(path, (UnixFileMode)0b111_111_111);
        }
        else
        {
            File.SetUnixFileMode(path, (UnixFileMode)0b110_110_110);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int chown(string path, int owner, int group);

    [DllImport("libc")]
    private static extern uint geteuid();
}
