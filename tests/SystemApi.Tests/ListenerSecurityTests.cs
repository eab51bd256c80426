using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using CyAgents.Contracts;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Logging;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CyAgents.SystemApi.Tests;

/// <summary>The real Kestrel listeners: what the sandboxes' unix socket may do, Kestrel's limits and the connection cap.</summary>
public sealed class ListenerSecurityTests : IAsyncLifetime
{
    private const string OperatorSecret = "operator-secret-for-listener-tests-0123";
    private WebApplication _app = null!;
    private string _root = "";
    private string _socket = "";
    private Uri _tcp = null!;

    public async Task InitializeAsync()
    {
        _root = Directory.CreateTempSubdirectory("cyagents-listen-").FullName;
        _socket = Path.Combine(_root, "api.sock");
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:ConnectionString"] = $"Data Source={Path.Combine(_root, "db.sqlite")}",
            ["SystemApi:SocketPath"] = _socket,
            ["SystemApi:Urls"] = "http://127.0.0.1:0",
            ["SystemApi:OperatorToken"] = OperatorSecret,
            ["SystemApi:MaxConcurrentConnections"] = "4",
            ["Workspaces:Root"] = Path.Combine(_root, "workspaces"),
        });
        builder.Logging.AddSystemLog(SystemLog.Create(Path.Combine(_root, "system.log"), SystemLog.Orchestrator));
        builder.Services.AddSystemApi(builder.Configuration);
        _app = builder.Build();
        _app.MapSystemApi();
        await _app.StartAsync();
        _tcp = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Single(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal)));
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private HttpClient OverSocket(string? token)
    {
        var client = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(_socket), ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        }) { BaseAddress = new Uri("http://localhost") };
        if (token is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private HttpClient OverTcp(string? token)
    {
        var client = new HttpClient { BaseAddress = _tcp };
        if (token is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    [Fact]
    public async Task The_operator_token_is_refused_on_the_unix_socket_and_accepted_on_loopback_tcp()
    {
        using var socket = OverSocket(OperatorSecret);
        using var tcp = OverTcp(OperatorSecret);

        var refused = await socket.GetAsync(ApiRoutes.OperatorPrompts);
        var problem = await refused.ShouldBeProblemAsync(HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
        problem.GetProperty("detail").GetString()!.ShouldContain("loopback TCP");
        // An operator write over the socket is refused the same way, before anything is read or changed.
        await (await socket.PostAsync(ApiRoutes.AnswerPrompt("prm-x"), new StringContent("""{"answer":"a","reward":1000}""", Encoding.UTF8, "application/json")))
            .ShouldBeProblemAsync(HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);

        (await tcp.GetAsync(ApiRoutes.OperatorPrompts)).StatusCode.ShouldBe(HttpStatusCode.OK);
        // The socket itself still serves anonymous and agent callers.
        (await OverSocket(null).GetAsync(ApiRoutes.MarketPrices)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Metrics_are_served_without_a_token_on_loopback_tcp_and_do_not_exist_on_the_unix_socket()
    {
        using var tcp = OverTcp(null);
        (await tcp.GetAsync("/v1/market/prices")).EnsureSuccessStatusCode();
        var answer = await tcp.GetAsync("/metrics");
        answer.StatusCode.ShouldBe(HttpStatusCode.OK);
        answer.Content.Headers.ContentType!.ToString().ShouldBe("text/plain; version=0.0.4; charset=utf-8");
        (await answer.Content.ReadAsStringAsync())
            .ShouldContain("cyagents_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/market/prices\",status=\"200\"} 1\n");

        using var socket = OverSocket(null);
        (await socket.GetAsync("/metrics")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_request_target_between_the_api_limit_and_kestrels_is_answered_with_problem_details()
    {
        using var tcp = OverTcp(null);
        var response = await tcp.GetAsync(ApiRoutes.MarketPrices + "?pad=" + new string('x', 6000));
        await response.ShouldBeProblemAsync(HttpStatusCode.RequestUriTooLong, ErrorCodes.UriTooLong);

        var headers = new HttpRequestMessage(HttpMethod.Get, ApiRoutes.MarketPrices);
        headers.Headers.Add("X-Pad", new string('y', 20_000));
        await (await tcp.SendAsync(headers)).ShouldBeProblemAsync(HttpStatusCode.RequestHeaderFieldsTooLarge, ErrorCodes.HeadersTooLarge);
    }

    [Fact]
    public async Task Connections_beyond_the_cap_are_closed_at_once()
    {
        var open = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, _tcp.Port);
                open.Add(c);
            }
            await Task.Delay(200);
            using var extra = new TcpClient();
            await extra.ConnectAsync(IPAddress.Loopback, _tcp.Port);
            var stream = extra.GetStream();
            await stream.WriteAsync("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
            var buffer = new byte[256];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            int read;
            try { read = await stream.ReadAsync(buffer, timeout.Token); }
            catch (IOException) { read = 0; } // reset by the server: closed too
            read.ShouldBe(0, "the connection over the cap must be closed without an answer");
        }
        finally
        {
            foreach (var c in open) c.Dispose();
        }
        // Once the others are gone, connections are served again.
        await Task.Delay(200);
        (await OverTcp(null).GetAsync(ApiRoutes.Health)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}
