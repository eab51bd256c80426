using System.Diagnostics;
using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;

namespace CyAgents.Orchestrator.Sandbox;

/// <summary>
/// A shell runtime built offline: <c>FROM scratch</c> with Debian's static busybox (package busybox-static, installed by
/// <c>scripts/ensure-busybox</c>) and a link per applet, so an <see cref="AgentProgram"/> can run
/// <c>["/bin/sh", "-c", script]</c>. The hostile test agent and the output benchmark run in it. Extra files (tests' probes)
/// may be added; the tag is a hash of the content, so a changed image gets a new tag.
/// </summary>
public sealed class ShellImage(DockerEngine engine, string busybox = ShellImage.DefaultBusybox)
{
    /// <summary>Where Debian's busybox-static puts the binary.</summary>
    public const string DefaultBusybox = "/bin/busybox";

    /// <summary>Builds the image unless the engine has it; returns its tag.</summary>
    public async Task<string> EnsureAsync(IReadOnlyDictionary<string, byte[]>? extraFiles = null, CancellationToken ct = default)
    {
        if (!File.Exists(busybox))
            throw new InvalidOperationException($"{busybox} is missing; install Debian's busybox-static (scripts/ensure-busybox)");
        var applets = Applets();
        var extra = extraFiles ?? new Dictionary<string, byte[]>();
        var tag = $"cyagents-shell:{Hash(applets, extra)}";
        if (await engine.InspectImageAsync(tag, ct) is not null) return tag;
        using var context = BuildContext(applets, extra);
        await engine.BuildImageAsync(context, tag, ct);
        return tag;
    }

    private string[] Applets()
    {
        var psi = new ProcessStartInfo(busybox) { ArgumentList = { "--list" }, RedirectStandardOutput = true };
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {busybox}");
        var list = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return list.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(a => a != "busybox" && a.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '[')).Order(StringComparer.Ordinal).ToArray();
    }

    private string Hash(string[] applets, IReadOnlyDictionary<string, byte[]> extra)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(File.ReadAllBytes(busybox));
        sha.AppendData(Encoding.UTF8.GetBytes(string.Join(',', applets)));
        foreach (var (name, bytes) in extra.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            sha.AppendData(Encoding.UTF8.GetBytes(name));
            sha.AppendData(bytes);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..12];
    }

    private MemoryStream BuildContext(string[] applets, IReadOnlyDictionary<string, byte[]> extra)
    {
        const UnixFileMode exec = (UnixFileMode)0b111_101_101;
        var stream = new MemoryStream();
        using (var tar = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            Text(tar, "Dockerfile", """
                FROM scratch
                COPY rootfs/ /
                ENV HOME=/tmp TMPDIR=/tmp PATH=/bin
                WORKDIR /workspace
                ENTRYPOINT []
                CMD ["/bin/sh"]
                """);
            foreach (var dir in new[] { "rootfs/", "rootfs/bin/", "rootfs/workspace/", "rootfs/run/", "rootfs/run/cyagents/", "rootfs/dev/", "rootfs/proc/", "rootfs/etc/" })
                tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, dir) { Mode = exec });
            tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "rootfs/tmp/") { Mode = (UnixFileMode)0b111_111_111 | UnixFileMode.StickyBit });
            using (var data = File.OpenRead(busybox))
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "rootfs/bin/busybox") { Mode = exec, DataStream = data });
            foreach (var applet in applets)
                tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, $"rootfs/bin/{applet}") { LinkName = "busybox", Mode = exec });
            foreach (var (name, bytes) in extra)
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"rootfs/{name.TrimStart('/')}") { Mode = exec, DataStream = new MemoryStream(bytes) });
        }
        stream.Position = 0;
        return stream;
    }

    private static void Text(TarWriter tar, string name, string text) =>
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)0b110_100_100, DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) });
}
