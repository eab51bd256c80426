using System.Buffers.Binary;
using CyAgents.Orchestrator.Sandbox;

namespace CyAgents.Orchestrator.Tests.Sandbox;

public sealed class AgentOutputTests
{
    private static byte[] Frame(byte stream, byte[] body)
    {
        var header = new byte[] { stream, 0, 0, 0, 0, 0, 0, 0 };
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), (uint)body.Length);
        return [.. header, .. body];
    }

    private static byte[] Frame(byte stream, string text) => Frame(stream, System.Text.Encoding.UTF8.GetBytes(text));

    private static async Task<(AgentOutput Output, List<LogLine> Seen)> ReadAsync(byte[] data, long budget = 1 << 20, int maxLine = 1024, int chunk = 7)
    {
        var seen = new List<LogLine>();
        var output = new AgentOutput(budget, maxLine, seen.Add);
        // A stream that hands out a few bytes at a time: frame headers and lines cut anywhere.
        await output.ReadAsync(new Trickle(data, chunk), default);
        return (output, seen);
    }

    [Fact]
    public async Task Frames_are_split_by_stream_and_into_lines_wherever_the_reads_cut_them()
    {
        var (output, seen) = await ReadAsync([.. Frame(1, "hello\nwor"), .. Frame(2, "oops\r\n"), .. Frame(1, "ld\n"), .. Frame(1, "tail")]);

        output.Lines.ShouldBe([new LogLine("stdout", "hello"), new LogLine("stderr", "oops"), new LogLine("stdout", "world"), new LogLine("stdout", "tail")]);
        seen.ShouldBe(output.Lines);
        output.BytesDropped.ShouldBe(0);
    }

    [Fact]
    public async Task A_line_longer_than_the_cap_is_split_into_pieces_of_the_cap()
    {
        var (output, _) = await ReadAsync(Frame(1, new string('x', 2500) + "\n"), maxLine: 1000);

        output.Lines.Select(l => l.Text.Length).ShouldBe([1000, 1000, 500]);
    }

    [Fact]
    public async Task Beyond_the_budget_bytes_are_read_counted_and_dropped()
    {
        var data = Enumerable.Range(0, 100).SelectMany(i => Frame(1, $"line {i:000}\n")).ToArray(); // 9 bytes a line

        var (output, _) = await ReadAsync(data, budget: 90);

        output.Lines.Count.ShouldBe(10);
        output.BytesRead.ShouldBe(900);
        output.BytesDropped.ShouldBe(810);
    }

    [Fact]
    public async Task A_lease_takes_each_windows_lines_and_each_window_has_a_budget_of_its_own()
    {
        var output = new AgentOutput(90, 1024, _ => { });
        byte[] Lines(int from) => Enumerable.Range(from, 20).SelectMany(i => Frame(1, $"line {i:000}\n")).ToArray(); // 9 bytes a line

        await output.ReadAsync(new Trickle(Lines(0), 7), default);
        var first = output.TakeWindow();
        await output.ReadAsync(new Trickle(Lines(100), 7), default);
        var second = output.TakeWindow();

        first.Lines.Select(l => l.Text).ShouldBe(Enumerable.Range(0, 10).Select(i => $"line {i:000}"));
        first.BytesDropped.ShouldBe(90);
        second.Lines.Select(l => l.Text).ShouldBe(Enumerable.Range(100, 10).Select(i => $"line {i:000}"));
        second.BytesDropped.ShouldBe(90);
        output.TakeWindow().Lines.ShouldBeEmpty();
    }

    [Fact]
    public async Task Output_without_newlines_is_read_to_its_end_in_capped_lines_and_counted()
    {
        // 64 MiB in 32 KiB frames and no newline (the time it takes is measured by `cyagents bench --flood`, not here).
        var frame = Frame(1, Enumerable.Repeat((byte)'A', 32 * 1024).ToArray());
        var data = new byte[frame.Length * 2048];
        for (var i = 0; i < 2048; i++) frame.CopyTo(data, i * frame.Length);

        var (output, _) = await ReadAsync(data, budget: 1 << 20, maxLine: 16 * 1024, chunk: 64 * 1024);

        output.BytesRead.ShouldBe(64L * 1024 * 1024);
        output.BytesDropped.ShouldBe(64L * 1024 * 1024 - output.Lines.Sum(l => (long)l.Text.Length));
        output.Lines.ShouldAllBe(l => l.Text.Length == 16 * 1024);
    }

    private sealed class Trickle(byte[] data, int chunk) : Stream
    {
        private int _position;
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(Math.Min(count, chunk), data.Length - _position);
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
