using System.Formats.Tar;
using System.Text;

namespace CyAgents.Orchestrator.Sandbox.Runtimes;

/// <summary>
/// Writes a build context for the Engine API's <c>POST /build</c>: a Dockerfile and a <c>rootfs/</c> folder that the
/// Dockerfile copies onto <c>FROM scratch</c>. Every entry is owned by root, so the sandbox user can read but never change
/// the runtime; parent folders are written once, before their first child. File times are kept, so the host's
/// precompiled <c>.pyc</c> files stay valid against their sources inside the image.
/// </summary>
internal sealed class RootFileSystem : IDisposable
{
    /// <summary>How entries are written (modes, owners, times); part of every runtime's tag, so a change here rebuilds them all.</summary>
    public const string Version = "rootfs-v2";

    private const UnixFileMode Readable = (UnixFileMode)0b110_100_100;
    private const UnixFileMode Executable = (UnixFileMode)0b111_101_101;
    private readonly TarWriter _tar;
    private readonly HashSet<string> _entries = new(StringComparer.Ordinal);

    public RootFileSystem(Stream output, string dockerfile)
    {
        _tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        _tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "Dockerfile") { Mode = Readable, DataStream = new MemoryStream(Encoding.UTF8.GetBytes(dockerfile)) });
        Directory("/");
    }

    /// <summary>Paths written so far (image paths, folders ending in '/').</summary>
    public IReadOnlyCollection<string> Entries => _entries;

    /// <summary>A folder (and its parents); <paramref name="worldWritable"/> makes it 1777 like /tmp.</summary>
    public void Directory(string imagePath, bool worldWritable = false)
    {
        var trimmed = imagePath.TrimEnd('/');
        var name = trimmed.Length == 0 ? "rootfs/" : Name(trimmed) + "/";
        if (name != "rootfs/") Parents(name);
        if (!_entries.Add(name)) return;
        _tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name)
        {
            Mode = worldWritable ? (UnixFileMode)0b111_111_111 | UnixFileMode.StickyBit : Executable,
        });
    }

    /// <summary>
    /// A copy of a host file, never writable by anyone but root; executable only when the host's is and it is an ELF file:
    /// a script's <c>#!</c> names an interpreter the image may lack (the standard library has a dozen such files).
    /// </summary>
    public void File(string hostPath, string imagePath)
    {
        var name = Name(imagePath);
        Parents(name);
        if (!_entries.Add(name)) return;
        using var data = System.IO.File.OpenRead(hostPath);
        var executable = !OperatingSystem.IsWindows() && (System.IO.File.GetUnixFileMode(hostPath) & UnixFileMode.UserExecute) != 0 && IsElf(data);
        _tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            Mode = executable ? Executable : Readable,
            ModificationTime = System.IO.File.GetLastWriteTimeUtc(hostPath),
            DataStream = data,
        });
    }

    /// <summary>A symbolic link at <paramref name="imagePath"/> pointing to <paramref name="target"/> (relative or absolute in the image).</summary>
    public void Link(string imagePath, string target)
    {
        var name = Name(imagePath);
        Parents(name);
        if (!_entries.Add(name)) return;
        _tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target, Mode = Executable });
    }

    private static bool IsElf(FileStream data)
    {
        Span<byte> magic = stackalloc byte[4];
        var elf = data.Read(magic) == 4 && magic.SequenceEqual((ReadOnlySpan<byte>)[0x7F, (byte)'E', (byte)'L', (byte)'F']);
        data.Position = 0;
        return elf;
    }

    private void Parents(string name)
    {
        var parts = name.TrimEnd('/').Split('/');
        for (var i = 2; i < parts.Length; i++)
        {
            var parent = string.Join('/', parts[..i]) + "/";
            if (_entries.Add(parent)) _tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, parent) { Mode = Executable });
        }
    }

    private static string Name(string imagePath)
    {
        if (!imagePath.StartsWith('/') || imagePath.Contains("/../", StringComparison.Ordinal) || imagePath.EndsWith("/..", StringComparison.Ordinal))
            throw new ArgumentException($"not an absolute image path: {imagePath}", nameof(imagePath));
        return "rootfs" + imagePath;
    }

    public void Dispose() => _tar.Dispose();
}
