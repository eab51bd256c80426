using System.Buffers.Binary;
using System.Text;

namespace CyAgents.Orchestrator.Sandbox;

/// <summary>
/// An agent's stdout and stderr read as they come from the engine's multiplexed stream (ADR 0072): each byte is looked at
/// once (linear time, newlines or not), a line longer than <c>maxLineBytes</c> is split, and after <c>budgetBytes</c> the
/// rest is read and counted but dropped, so memory stays bounded whatever the agent prints.
/// </summary>
public sealed class AgentOutput(long budgetBytes, int maxLineBytes, Action<LogLine> onLine)
{
    private readonly byte[][] _pending = [new byte[maxLineBytes], new byte[maxLineBytes]];
    private readonly int[] _pendingLength = new int[2];
    private readonly List<LogLine> _kept = [];
    private readonly Lock _gate = new();
    private long _keptBytes;

    /// <summary>The lines kept within the budget, in order (read once the stream ended; a lease's window uses <see cref="TakeWindow"/>).</summary>
    public IReadOnlyList<LogLine> Lines => _kept;
    /// <summary>Bytes read beyond the budget and dropped.</summary>
    public long BytesDropped { get; private set; }

    /// <summary>
    /// While the stream is still being read (a service's lease, ADR 0137): the lines kept since the last call and the bytes
    /// dropped since then; the budget starts afresh, so each window a lease serves has an output budget of its own.
    /// </summary>
    public (IReadOnlyList<LogLine> Lines, long BytesDropped) TakeWindow()
    {
        lock (_gate)
        {
            var lines = _kept.ToList();
            var dropped = BytesDropped;
            _kept.Clear();
            _keptBytes = 0;
            BytesDropped = 0;
            return (lines, dropped);
        }
    }
    /// <summary>All bytes of output read.</summary>
    public long BytesRead { get; private set; }

    /// <summary>Reads the multiplexed stream to its end (the container stopped) or until <paramref name="ct"/> fires.</summary>
    public async Task ReadAsync(Stream multiplexed, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        var header = new byte[8];
        var headerFilled = 0;
        long frameLeft = 0;
        var stream = 0;
        while (true)
        {
            var read = await multiplexed.ReadAsync(buffer, ct);
            if (read == 0) break;
            var offset = 0;
            while (offset < read)
            {
                if (frameLeft == 0)
                {
                    var take = Math.Min(8 - headerFilled, read - offset);
                    Array.Copy(buffer, offset, header, headerFilled, take);
                    headerFilled += take;
                    offset += take;
                    if (headerFilled < 8) continue;
                    headerFilled = 0;
                    stream = header[0] == 2 ? 1 : 0;
                    frameLeft = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4, 4));
                    continue;
                }
                var chunk = (int)Math.Min(frameLeft, read - offset);
                Append(stream, buffer.AsSpan(offset, chunk));
                offset += chunk;
                frameLeft -= chunk;
            }
        }
        Flush();
    }

    /// <summary>Emits what is left of unterminated lines (called at the end of the stream).</summary>
    public void Flush()
    {
        for (var s = 0; s < 2; s++)
            if (_pendingLength[s] > 0) Emit(s);
    }

    private void Append(int stream, ReadOnlySpan<byte> data)
    {
        BytesRead += data.Length;
        if (_keptBytes >= budgetBytes)
        {
            lock (_gate) BytesDropped += data.Length;
            return;
        }
        var pending = _pending[stream];
        while (!data.IsEmpty)
        {
            var newline = data.IndexOf((byte)'\n');
            var room = pending.Length - _pendingLength[stream];
            var take = newline >= 0 ? Math.Min(newline, room) : Math.Min(data.Length, room);
            data[..take].CopyTo(pending.AsSpan(_pendingLength[stream]));
            _pendingLength[stream] += take;
            data = data[take..];
            if (newline >= 0 && take == newline)
            {
                data = data[1..]; // the newline itself
                Emit(stream);
            }
            else if (_pendingLength[stream] == pending.Length)
            {
                Emit(stream); // a line longer than the cap is split, not buffered
            }
            if (_keptBytes >= budgetBytes)
            {
                lock (_gate) BytesDropped += data.Length;
                return;
            }
        }
    }

    private void Emit(int stream)
    {
        var length = _pendingLength[stream];
        _pendingLength[stream] = 0;
        lock (_gate) _keptBytes += length + 1;
        var text = Encoding.UTF8.GetString(_pending[stream], 0, length).TrimEnd('\r');
        var line = new LogLine(stream == 1 ? "stderr" : "stdout", text);
        lock (_gate) _kept.Add(line);
        onLine(line);
    }
}
