using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace CyAgents.GenesisAgent;

/// <summary>
/// HTTP/1.1 over a unix socket, one connection per request — all the agent needs to reach the System API from a
/// network-less sandbox. It replaces SocketsHttpHandler so trimming drops the TLS, proxy and HTTP/2-3 stacks: that
/// keeps the ReadyToRun image under 30 MB and the agent's start short (ADR 0041).
/// </summary>
public sealed class UnixSocketHttpHandler(string socketPath) : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new HttpRequestException(e.Message, e);
        }
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(ct);
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"{request.Method} {request.RequestUri!.PathAndQuery} HTTP/1.1\r\n");
        head.Append("Host: localhost\r\nConnection: close\r\n");
        foreach (var (name, values) in request.Headers) head.Append(CultureInfo.InvariantCulture, $"{name}: {string.Join(", ", values)}\r\n");
        if (request.Content is not null)
            foreach (var (name, values) in request.Content.Headers)
                if (!name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                    head.Append(CultureInfo.InvariantCulture, $"{name}: {string.Join(", ", values)}\r\n");
        if (request.Content is not null || request.Method == HttpMethod.Post)
            head.Append(CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\n");
        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), ct);
        if (body.Length > 0) await stream.WriteAsync(body, ct);

        // Connection: close, so the response ends where the stream does.
        using var all = new MemoryStream();
        await stream.CopyToAsync(all, ct);
        return Parse(all.ToArray(), request);
    }

    /// <summary>Parses a whole HTTP/1.1 response (Content-Length, chunked, or read to close).</summary>
    public static HttpResponseMessage Parse(byte[] data, HttpRequestMessage? request = null)
    {
        var headEnd = IndexOf(data, "\r\n\r\n"u8, 0);
        if (headEnd < 0) throw new HttpRequestException("the System API closed the connection before a full response");
        var lines = Encoding.ASCII.GetString(data, 0, headEnd).Split("\r\n");
        var status = lines[0].Split(' ', 3);
        if (status.Length < 2 || !int.TryParse(status[1], out var code))
            throw new HttpRequestException($"malformed status line '{lines[0]}'");
        var headers = new List<(string Name, string Value)>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            if (colon > 0) headers.Add((line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }
        var rest = data.AsSpan(headEnd + 4);
        byte[] body;
        if (headers.Any(h => h.Name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && h.Value.Contains("chunked", StringComparison.OrdinalIgnoreCase)))
            body = Dechunk(rest);
        else if (headers.FirstOrDefault(h => h.Name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Value is { } length
                 && int.TryParse(length, out var n))
            body = rest[..Math.Min(n, rest.Length)].ToArray();
        else
            body = rest.ToArray();

        var response = new HttpResponseMessage((HttpStatusCode)code) { RequestMessage = request, Content = new ByteArrayContent(body) };
        foreach (var (name, value) in headers)
        {
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                continue;
            if (!response.Headers.TryAddWithoutValidation(name, value))
                response.Content.Headers.TryAddWithoutValidation(name, value);
        }
        response.Content.Headers.ContentLength = body.Length;
        return response;
    }

    private static byte[] Dechunk(ReadOnlySpan<byte> data)
    {
        var output = new MemoryStream();
        var position = 0;
        while (true)
        {
            var lineEnd = IndexOf(data, "\r\n"u8, position);
            if (lineEnd < 0) throw new HttpRequestException("truncated chunked body");
            var sizeText = Encoding.ASCII.GetString(data[position..lineEnd]).Split(';')[0].Trim();
            var size = int.Parse(sizeText, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            position = lineEnd + 2;
            if (size == 0) return output.ToArray();
            if (position + size > data.Length) throw new HttpRequestException("truncated chunk");
            output.Write(data.Slice(position, size));
            position += size + 2;
        }
    }

    private static int IndexOf(ReadOnlySpan<byte> data, ReadOnlySpan<byte> value, int start)
    {
        var i = data[start..].IndexOf(value);
        return i < 0 ? -1 : start + i;
    }
}
