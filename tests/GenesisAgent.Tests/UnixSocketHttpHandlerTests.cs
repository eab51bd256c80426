using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CyAgents.GenesisAgent.Tests;

public sealed class UnixSocketHttpHandlerTests
{
    [Fact]
    public async Task A_chunked_response_is_reassembled()
    {
        var raw = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n";

        using var response = UnixSocketHttpHandler.Parse(Encoding.ASCII.GetBytes(raw));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).ShouldBe("{\"a\":1}");
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
    }

    [Fact]
    public async Task A_problem_response_keeps_its_status_and_body()
    {
        var raw = "HTTP/1.1 402 Payment Required\r\nContent-Length: 13\r\nContent-Type: application/problem+json\r\n\r\n{\"code\":\"x\"}\n";

        using var response = UnixSocketHttpHandler.Parse(Encoding.ASCII.GetBytes(raw));

        ((int)response.StatusCode).ShouldBe(402);
        (await response.Content.ReadAsStringAsync()).ShouldBe("{\"code\":\"x\"}\n");
    }

    [Fact]
    public async Task A_request_goes_out_as_http_1_1_with_its_headers_and_body()
    {
        var path = Path.Combine(Path.GetTempPath(), $"h-{Guid.NewGuid():N}.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        var server = Task.Run(async () =>
        {
            using var connection = await listener.AcceptAsync();
            var buffer = new byte[4096];
            var received = new StringBuilder();
            while (!received.ToString().Contains("\"amount\":5}"))
                received.Append(Encoding.ASCII.GetString(buffer, 0, await connection.ReceiveAsync(buffer)));
            await connection.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}"));
            connection.Shutdown(SocketShutdown.Both);
            return received.ToString();
        });
        using var client = new HttpClient(new UnixSocketHttpHandler(path)) { BaseAddress = new Uri("http://localhost") };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/bids") { Content = new StringContent("{\"amount\":5}", Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", "k1");

        using var response = await client.SendAsync(request);
        var sent = await server;
        File.Delete(path);

        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        sent.ShouldStartWith("POST /v1/bids HTTP/1.1\r\n");
        sent.ShouldContain("Idempotency-Key: k1\r\n");
        sent.ShouldContain("Content-Length: 12\r\n");
    }

    [Fact]
    public async Task A_missing_socket_is_an_http_request_exception()
    {
        using var client = new HttpClient(new UnixSocketHttpHandler("/nonexistent/api.sock")) { BaseAddress = new Uri("http://localhost") };

        await Should.ThrowAsync<HttpRequestException>(() => client.GetAsync("/health"));
    }
}
