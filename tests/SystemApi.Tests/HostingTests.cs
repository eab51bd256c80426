using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CyAgents.Contracts;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Logging;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CyAgents.SystemApi.Tests;

/// <summary>The API hosted the way the orchestrator hosts it: its own WebApplication with Kestrel on a unix socket and loopback.</summary>
public class HostingTests
{
    private static async Task<(WebApplication App, string Root, string Socket)> StartKestrelAsync()
    {
        var root = Directory.CreateTempSubdirectory("cyagents-host-").FullName;
        var socketDir = Directory.CreateTempSubdirectory("cyagents-sock-").FullName; // 0700: the API must open it (o+x)
        var socket = Path.Combine(socketDir, "system-api.sock");
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:ConnectionString"] = $"Data Source={Path.Combine(root, "db.sqlite")}",
            ["SystemApi:SocketPath"] = socket,
            ["SystemApi:Urls"] = "http://127.0.0.1:0",
            ["SystemApi:OperatorTokenFile"] = Path.Combine(root, "operator.token"),
            ["Workspaces:Root"] = Path.Combine(root, "workspaces"),
        });
        builder.Logging.AddSystemLog(SystemLog.Create(Path.Combine(root, "system.log"), SystemLog.Orchestrator));
        builder.Services.AddSystemApi(builder.Configuration);
        var app = builder.Build();
        app.MapSystemApi();
        await app.StartAsync();
        return (app, root, socket);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output + error);
    }

    [Fact]
    public async Task A_non_root_process_can_call_the_api_over_the_unix_socket()
    {
        var (app, root, socket) = await StartKestrelAsync();
        try
        {
            File.GetUnixFileMode(socket).HasFlag(UnixFileMode.OtherWrite).ShouldBeTrue();
            File.GetUnixFileMode(Path.GetDirectoryName(socket)!).HasFlag(UnixFileMode.OtherExecute).ShouldBeTrue();

            var asNobody = await RunAsync("runuser", "-u", "nobody", "--", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                "--unix-socket", socket, "http://localhost/health");
            asNobody.Output.ShouldBe("200");

            var token = (await app.Services.GetRequiredService<AgentTokenService>().IssueAsync("sandboxed", "exe-1", 1)).Token;
            var asSandboxUser = await RunAsync("setpriv", "--reuid=10001", "--regid=10001", "--clear-groups", "curl", "-s",
                "-H", $"Authorization: Bearer {token}", "--unix-socket", socket, "http://localhost/v1/market/prices");
            asSandboxUser.ExitCode.ShouldBe(0, asSandboxUser.Output);
            JsonDocument.Parse(asSandboxUser.Output).RootElement.GetProperty("nextCycle").GetInt64().ShouldBe(1);

            using var client = SystemApiClient.ForUnixSocket(socket, null);
            (await client.GetHealthAsync()).Status.ShouldBe("ok");
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(root, recursive: true);
            Directory.Delete(Path.GetDirectoryName(socket)!, recursive: true);
        }
    }

    [Fact]
    public async Task The_api_listens_on_loopback_tcp()
    {
        var (app, root, socket) = await StartKestrelAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
                .Single(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
            using var client = SystemApiClient.ForBaseAddress(new Uri(address), null);
            (await client.GetPricesAsync()).Resources.Count.ShouldBe(4);
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(root, recursive: true);
            Directory.Delete(Path.GetDirectoryName(socket)!, recursive: true);
        }
    }

    [Theory]
    [InlineData("http://0.0.0.0:5080")]
    [InlineData("http://10.1.2.3:5080")]
    [InlineData("http://example.org:5080")]
    [InlineData("https://127.0.0.1:5080")]
    public void Addresses_other_than_loopback_http_are_refused(string urls) =>
        Should.Throw<InvalidOperationException>(() => Listeners.LoopbackEndpoints(urls));

    [Fact]
    public void Loopback_addresses_are_accepted()
    {
        var endpoints = Listeners.LoopbackEndpoints("http://127.0.0.1:5080; http://[::1]:5081;http://localhost:5082");
        endpoints.Select(e => e.ToString()).ShouldBe(["127.0.0.1:5080", "[::1]:5081", "127.0.0.1:5082"]);
        Listeners.LoopbackEndpoints("").ShouldBeEmpty();
    }

    [Fact]
    public async Task State_changes_are_written_to_the_system_log_with_component_and_ids()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000, executionId: "exe-42", cycle: 5);
        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Bids, new PlaceBidRequest(new ResourceBundleDto(100, 64, 0, 0), 5));
        var bidId = (await response.Content.ReadFromJsonAsync<BidResponse>())!.Id;

        var placed = await WaitForEventAsync(api.LogPath, e => e.GetProperty("Properties").TryGetProperty("BidId", out var id) && id.GetString() == bidId);
        var properties = placed.GetProperty("Properties");
        properties.GetProperty("Component").GetString().ShouldBe("SystemApi");
        properties.GetProperty("AgentId").GetString().ShouldBe("alice");
        properties.GetProperty("ExecutionId").GetString().ShouldBe("exe-42");
        properties.GetProperty("Cycle").GetInt64().ShouldBe(5);
        placed.GetProperty("RenderedMessage").GetString()!.ShouldContain("escrowed");

        var issued = await WaitForEventAsync(api.LogPath, e => e.GetProperty("MessageTemplate").GetString()!.StartsWith("Agent token issued"));
        issued.GetProperty("Properties").GetProperty("ExecutionId").GetString().ShouldBe("exe-42");
        (await File.ReadAllTextAsync(api.LogPath)).ShouldNotContain(token);
    }

    /// <summary>Every line of system.log is one JSON object; waits for the async sink to write the wanted one.</summary>
    private static async Task<JsonElement> WaitForEventAsync(string path, Func<JsonElement, bool> wanted)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            if (File.Exists(path))
            {
                await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream);
                while (await reader.ReadLineAsync() is { } line)
                {
                    var e = JsonDocument.Parse(line).RootElement;
                    if (wanted(e)) return e.Clone();
                }
            }
            if (DateTime.UtcNow > deadline) throw new ShouldAssertException($"no matching event in {path}");
            await Task.Delay(50);
        }
    }
}
