using System.Globalization;
using System.Text;

namespace CyAgents.SystemApi.Workspaces.History;

/// <summary>What one snapshot held and what it left out (the commit message says it all).</summary>
/// <param name="Files">Regular files recorded.</param>
/// <param name="Links">Symbolic links recorded as links (their target text, never what they point to).</param>
/// <param name="Bytes">File bytes recorded.</param>
/// <param name="SpecialSkipped">FIFOs, sockets and devices left out.</param>
/// <param name="GitSkipped">Entries named <c>.git</c> left out (a repository inside the tree would be one in the history).</param>
/// <param name="Omitted">Files and folders left out by a bound (bytes, entries, depth).</param>
/// <param name="OmittedBytes">Bytes of the files left out by the byte bound.</param>
/// <param name="Unreadable">Entries that could not be read (vanished, permission).</param>
public sealed record SnapshotSummary(int Files, int Links, long Bytes, int SpecialSkipped, int GitSkipped, int Omitted, long OmittedBytes, int Unreadable)
{
    /// <summary>True when a bound left something out.</summary>
    public bool Truncated => Omitted > 0;
}

/// <summary>
/// Walks a workspace an agent has written and writes it as <c>git fast-import</c> blobs (ADR 0108), with the same rules as
/// every host operation on such a tree (ADR 0070): enumeration reports each entry's own type, a symbolic link is stored as a
/// link (mode 120000, its target from readlink) and never followed, files are opened with O_NOFOLLOW|O_NONBLOCK and their
/// type checked on the open descriptor (a FIFO is skipped, never waited on), and the walk is bounded by entries, bytes and
/// depth. Names are visited in ordinal order so the same tree gives the same stream.
/// </summary>
public sealed class WorkspaceSnapshot
{
    private const string ModeFile = "100644", ModeExecutable = "100755", ModeLink = "120000";

    private readonly HistoryOptions _limits;
    private readonly Stream _output;
    private readonly List<(string Mode, int Mark, string Path)> _tree = [];
    private readonly byte[] _buffer = new byte[81920];
    private int _mark;
    private int _entries, _files, _links, _special, _git, _omitted, _unreadable;
    private long _bytes, _omittedBytes;
    private bool _entriesExhausted;

    private WorkspaceSnapshot(HistoryOptions limits, Stream output)
    {
        _limits = limits;
        _output = output;
    }

    /// <summary>The tree entries written, as fast-import file commands (mode, blob mark, path) in path order.</summary>
    public IReadOnlyList<(string Mode, int Mark, string Path)> Tree => _tree;

    /// <summary>Marks used so far; the commit takes the next one.</summary>
    public int LastMark => _mark;

    /// <summary>What was recorded and left out.</summary>
    public SnapshotSummary Summary => new(_files, _links, _bytes, _special, _git, _omitted, _omittedBytes, _unreadable);

    /// <summary>Writes the blobs of <paramref name="workspace"/> to <paramref name="output"/> (a fast-import stream) and returns the walk.</summary>
    public static WorkspaceSnapshot Write(string workspace, HistoryOptions limits, Stream output)
    {
        var top = new DirectoryInfo(workspace);
        if (top.LinkTarget is not null) throw new UnsafeWorkspaceEntryException($"workspace {workspace} is a symbolic link; it is not read");
        if (!top.Exists) throw new DirectoryNotFoundException($"workspace {workspace} does not exist");
        var snapshot = new WorkspaceSnapshot(limits, output);
        snapshot.Folder(top, "", depth: 0);
        return snapshot;
    }

    private void Folder(DirectoryInfo folder, string prefix, int depth)
    {
        FileSystemInfo[] entries;
        try
        {
            // Enumeration reports lstat types: a link is a link, whatever it points to. No agent runs while this walks (the
            // container has exited), and a folder that is a link by now is refused by the check below, not entered.
            entries = folder.EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = false })
                .OrderBy(e => e.Name, StringComparer.Ordinal).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _unreadable++;
            return;
        }
        foreach (var entry in entries)
        {
            if (_entriesExhausted || ++_entries > _limits.MaxEntries)
            {
                _entriesExhausted = true;
                _omitted++;
                continue;
            }
            var path = prefix + entry.Name;
            // A nested repository would be one inside the history (and `.git` is what git refuses to check out): left out.
            if (string.Equals(entry.Name, ".git", StringComparison.OrdinalIgnoreCase))
            {
                _git++;
                continue;
            }
            if (entry.LinkTarget is { } target)
            {
                Link(path, target);
                continue;
            }
            switch (entry)
            {
                case DirectoryInfo when depth + 1 > _limits.MaxDepth:
                    _omitted++;
                    break;
                case DirectoryInfo sub:
                    if (WorkspaceFiles.Entry(sub.FullName) is DirectoryInfo { LinkTarget: null }) Folder(sub, path + "/", depth + 1);
                    else _unreadable++;
                    break;
                default:
                    File(entry.FullName, path);
                    break;
            }
        }
    }

    private void Link(string path, string target)
    {
        var bytes = Encoding.UTF8.GetBytes(target);
        WriteBlob(bytes);
        _tree.Add((ModeLink, _mark, path));
        _links++;
    }

    private void File(string fullPath, string path)
    {
        FileStream stream;
        try { stream = WorkspaceFiles.OpenRegularForRead(fullPath); }
        catch (UnsafeWorkspaceEntryException)
        {
            // A FIFO, socket or device (or a link that appeared): its type was checked on the open descriptor, nothing read.
            _special++;
            return;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _unreadable++;
            return;
        }
        using (stream)
        {
            var length = stream.Length;
            if (_bytes + length > _limits.MaxBytes)
            {
                _omitted++;
                _omittedBytes += length;
                return;
            }
            var executable = !OperatingSystem.IsWindows() && (System.IO.File.GetUnixFileMode(stream.SafeFileHandle) & UnixFileMode.UserExecute) != 0;
            _mark++;
            WriteAscii($"blob\nmark :{_mark.ToString(CultureInfo.InvariantCulture)}\ndata {length.ToString(CultureInfo.InvariantCulture)}\n");
            // Exactly the length fstat gave: a file that changed meanwhile is cut or padded, the stream stays well-formed.
            var left = length;
            while (left > 0)
            {
                var read = stream.Read(_buffer, 0, (int)Math.Min(_buffer.Length, left));
                if (read == 0)
                {
                    Array.Clear(_buffer);
                    while (left > 0)
                    {
                        var pad = (int)Math.Min(_buffer.Length, left);
                        _output.Write(_buffer, 0, pad);
                        left -= pad;
                    }
                    break;
                }
                _output.Write(_buffer, 0, read);
                left -= read;
            }
            WriteAscii("\n");
            _bytes += length;
            _files++;
            _tree.Add((executable ? ModeExecutable : ModeFile, _mark, path));
        }
    }

    private void WriteBlob(byte[] content)
    {
        _mark++;
        WriteAscii($"blob\nmark :{_mark.ToString(CultureInfo.InvariantCulture)}\ndata {content.Length.ToString(CultureInfo.InvariantCulture)}\n");
        _output.Write(content);
        WriteAscii("\n");
    }

    private void WriteAscii(string text) => _output.Write(Encoding.ASCII.GetBytes(text));

    /// <summary>A path in fast-import's C-style quoted form: any byte a name may hold (newline, quote, backslash, control) is safe.</summary>
    public static string Quote(string path)
    {
        var sb = new StringBuilder("\"");
        foreach (var b in Encoding.UTF8.GetBytes(path))
        {
            switch (b)
            {
                case (byte)'"': sb.Append("\\\""); break;
                case (byte)'\\': sb.Append("\\\\"); break;
                case (byte)'\n': sb.Append("\\n"); break;
                case < 0x20 or >= 0x7f: sb.Append('\\').Append(Convert.ToString(b, 8).PadLeft(3, '0')); break;
                default: sb.Append((char)b); break;
            }
        }
        return sb.Append('"').ToString();
    }
}
