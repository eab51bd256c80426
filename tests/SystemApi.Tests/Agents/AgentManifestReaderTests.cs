using System.Text;
using CyAgents.Economy.Resources;
using CyAgents.SystemApi.Agents;

namespace CyAgents.SystemApi.Tests.Agents;

/// <summary>agent.json is read strictly: every class of bad manifest is refused with one line naming the field.</summary>
public sealed class AgentManifestReaderTests
{
    private static AgentManifest Read(string json) => AgentManifestReader.Read(Encoding.UTF8.GetBytes(json));

    private static AgentManifestException Refused(string json, string field)
    {
        var refused = Should.Throw<AgentManifestException>(() => Read(json));
        refused.Field.ShouldBe(field);
        refused.Message.ShouldStartWith("agent.json: ");
        refused.Message.ShouldNotContain('\n');
        return refused;
    }

    [Fact]
    public void A_full_manifest_reads_into_its_fields_and_writes_back_to_the_same_canonical_form()
    {
        var manifest = Read("""
            {"runtime":"python","command":["python3","agent.py","--state=/workspace/state.json"],"env":{"MODE":"fast","A_1":"x"},
             "entryBid":{"amount":40,"bundle":{"cpuMillicores":200,"memoryMiB":64,"tokens":500}}}
            """);

        manifest.Runtime.ShouldBe("python");
        manifest.Image.ShouldBeNull();
        manifest.Command.ShouldBe(["python3", "agent.py", "--state=/workspace/state.json"]);
        manifest.Env["MODE"].ShouldBe("fast");
        manifest.EntryBid.ShouldBe(new EntryBid(40, ResourceBundle.Create(200, 64, 500, 0)));
        var stored = AgentManifestReader.Write(manifest);
        stored.ShouldBe("""{"runtime":"python","command":["python3","agent.py","--state=/workspace/state.json"],"env":{"A_1":"x","MODE":"fast"},"entryBid":{"amount":40,"bundle":{"cpuMillicores":200,"memoryMiB":64,"tokens":0,"attentionBasisPoints":0}}}""".Replace("\"tokens\":0", "\"tokens\":500"));
        AgentManifestReader.Write(AgentManifestReader.FromStored(stored)).ShouldBe(stored);
    }

    [Fact]
    public void An_image_agent_names_an_image_reference_and_may_leave_env_and_entry_bid_out()
    {
        var manifest = Read("""{"image":"my-agents/trader:1.2","command":["/usr/local/bin/trader"]}""");

        manifest.Image.ShouldBe("my-agents/trader:1.2");
        manifest.Runtime.ShouldBeNull();
        manifest.Env.ShouldBeEmpty();
        manifest.EntryBid.ShouldBeNull();
    }

    [Fact]
    public void A_service_manifest_reads_its_kind_and_stores_it_while_a_job_manifest_keeps_its_old_canonical_form()
    {
        var service = Read("""{"image":"my-agents/server:1","command":["/srv/run"],"kind":"service"}""");
        var job = Read("""{"image":"my-agents/server:1","command":["/srv/run"],"kind":"job"}""");
        var unsaid = Read("""{"image":"my-agents/server:1","command":["/srv/run"]}""");

        service.Kind.ShouldBe(AgentKind.Service);
        job.Kind.ShouldBe(AgentKind.Job);
        unsaid.Kind.ShouldBe(AgentKind.Job);
        var stored = AgentManifestReader.Write(service);
        stored.ShouldBe("""{"image":"my-agents/server:1","command":["/srv/run"],"env":{},"kind":"service"}""");
        AgentManifestReader.FromStored(stored).Kind.ShouldBe(AgentKind.Service);
        AgentManifestReader.Write(job).ShouldBe("""{"image":"my-agents/server:1","command":["/srv/run"],"env":{}}""");
    }

    [Theory]
    [InlineData("\"daemon\"")]
    [InlineData("\"Service\"")]
    [InlineData("1")]
    [InlineData("null")]
    public void A_kind_other_than_job_or_service_is_refused(string kind) =>
        Refused($$"""{"runtime":"python","command":["python3"],"kind":{{kind}}}""", "kind");

    [Fact]
    public void A_stored_null_is_the_genesis_default() =>
        AgentManifestReader.FromStored(null).ShouldBeSameAs(AgentManifestReader.GenesisDefault);

    [Fact]
    public void The_shipped_genesis_template_has_a_valid_manifest_that_runs_the_genesis_binary()
    {
        var manifest = AgentManifestReader.ReadFolder(Path.Combine(RepositoryRoot(), "workspaces", "genesis"));

        manifest.Runtime.ShouldBe(RuntimeNames.Dotnet);
        manifest.Command.ShouldBe(["/app/genesis-agent"]);
        manifest.EntryBid.ShouldBeNull(); // the configured default (Live:Genesis:FirstBid*)
    }

    [Fact]
    public void The_shipped_python_template_has_a_valid_manifest_that_runs_agent_py()
    {
        var manifest = AgentManifestReader.ReadFolder(Path.Combine(RepositoryRoot(), "workspaces", "python-agent"));

        manifest.Runtime.ShouldBe(RuntimeNames.Python);
        manifest.Command.ShouldBe(["python3", "agent.py"]);
        manifest.EntryBid!.Amount.ShouldBe(100);
        File.Exists(Path.Combine(RepositoryRoot(), "workspaces", "python-agent", "agent.py")).ShouldBeTrue();
    }

    [Fact]
    public void An_unknown_runtime_is_refused_naming_the_known_ones() =>
        Refused("""{"runtime":"ruby","command":["ruby","a.rb"]}""", "runtime").Message.ShouldContain("dotnet, python");

    [Fact]
    public void Both_runtime_and_image_are_refused() =>
        Refused("""{"runtime":"python","image":"x:1","command":["python3"]}""", "runtime").Message.ShouldContain("not both");

    [Fact]
    public void Neither_runtime_nor_image_is_refused() =>
        Refused("""{"command":["python3"]}""", "runtime").Message.ShouldContain("is required");

    [Theory]
    [InlineData("""{"runtime":"python"}""", "command")]
    [InlineData("""{"runtime":"python","command":[]}""", "command")]
    [InlineData("""{"runtime":"python","command":"python3 agent.py"}""", "command")]
    [InlineData("""{"runtime":"python","command":[""]}""", "command[0]")]
    [InlineData("""{"runtime":"python","command":["python3",7]}""", "command[1]")]
    public void A_missing_or_malformed_command_is_refused(string json, string field) => Refused(json, field);

    [Theory]
    [InlineData("/etc/passwd", 1)]
    [InlineData("../other/agent.py", 1)]
    [InlineData("/workspace/../etc/shadow", 1)]
    [InlineData("--config=/etc/cyagents.json", 1)]
    [InlineData("~/agent.py", 1)]
    [InlineData("/usr/../../etc/x", 0)]
    [InlineData("./../x", 0)]
    public void A_path_outside_the_workspace_is_refused(string arg, int index)
    {
        var argv = index == 0 ? $"[\"{arg}\"]" : $"[\"python3\",\"{arg}\"]";
        Refused($$"""{"runtime":"python","command":{{argv}}}""", $"command[{index}]").Message.ShouldContain("outside /workspace");
    }

    [Theory]
    [InlineData("/usr/bin/python3", "agent.py")]
    [InlineData("python3", "/workspace/agent.py")]
    [InlineData("./run.sh", "--state=/workspace/s.json")]
    [InlineData("/app/genesis-agent", "sub/../agent.py")]
    [InlineData("python3", "-c")]
    public void Paths_inside_the_workspace_and_the_runtimes_own_program_are_accepted(string program, string arg) =>
        Read($$"""{"runtime":"python","command":["{{program}}","{{arg}}"]}""").Command.ShouldBe([program, arg]);

    [Fact]
    public void An_oversized_manifest_is_refused_before_it_is_parsed()
    {
        var big = "{\"runtime\":\"python\",\"command\":[\"python3\"],\"env\":{\"PAD\":\"" + new string('x', AgentManifestReader.MaxBytes) + "\"}}";
        Refused(big, "").Message.ShouldContain($"at most {AgentManifestReader.MaxBytes}");
    }

    [Theory]
    [InlineData("""{"runtime":"python","command":["python3"],"entrypoint":["x"]}""", "entrypoint")]
    [InlineData("""{"runtime":"python","command":["python3"],"entryBid":{"amount":5,"bundle":{"cpuMillicores":100,"memoryMiB":32},"note":1}}""", "entryBid.note")]
    [InlineData("""{"runtime":"python","command":["python3"],"entryBid":{"amount":5,"bundle":{"cpuMillicores":100,"memoryMiB":32,"gpus":1}}}""", "entryBid.bundle.gpus")]
    public void An_unknown_property_is_refused(string json, string field) =>
        Refused(json, field).Message.ShouldContain("unknown property");

    [Fact]
    public void A_duplicate_property_is_refused() =>
        Refused("""{"runtime":"python","runtime":"dotnet","command":["python3"]}""", "").Message.ShouldContain("not valid JSON");

    [Theory]
    [InlineData("mode", "env.mode")]
    [InlineData("1ST", "env.1ST")]
    [InlineData("A-B", "env.A-B")]
    [InlineData("CYAGENTS_ENV", "env.CYAGENTS_ENV")]
    [InlineData("", "env.")]
    public void A_bad_env_name_is_refused(string name, string field) =>
        Refused("""{"runtime":"python","command":["python3"],"env":{""" + $"\"{name}\":\"v\"}}}}", field);

    [Fact]
    public void An_env_value_that_is_not_a_string_is_refused() =>
        Refused("""{"runtime":"python","command":["python3"],"env":{"N":3}}""", "env.N");

    [Theory]
    [InlineData("""{"amount":0,"bundle":{"cpuMillicores":100,"memoryMiB":32}}""", "entryBid.amount")]
    [InlineData("""{"amount":"40","bundle":{"cpuMillicores":100,"memoryMiB":32}}""", "entryBid.amount")]
    [InlineData("""{"amount":1.5,"bundle":{"cpuMillicores":100,"memoryMiB":32}}""", "entryBid.amount")]
    [InlineData("""{"bundle":{"cpuMillicores":100,"memoryMiB":32}}""", "entryBid.amount")]
    [InlineData("""{"amount":40}""", "entryBid.bundle")]
    [InlineData("""{"amount":40,"bundle":{"cpuMillicores":10,"memoryMiB":32}}""", "entryBid.bundle.cpuMillicores")]
    [InlineData("""{"amount":40,"bundle":{"cpuMillicores":100,"memoryMiB":8}}""", "entryBid.bundle.memoryMiB")]
    [InlineData("""{"amount":40,"bundle":{"cpuMillicores":100}}""", "entryBid.bundle.memoryMiB")]
    [InlineData("""{"amount":40,"bundle":{"cpuMillicores":100,"memoryMiB":32,"attentionBasisPoints":10001}}""", "entryBid.bundle.attentionBasisPoints")]
    public void A_bad_entry_bid_is_refused(string bid, string field) =>
        Refused($$"""{"runtime":"python","command":["python3"],"entryBid":{{bid}}}""", field);

    [Theory]
    [InlineData("UPPER:1")]
    [InlineData("name with space")]
    [InlineData("-x:1")]
    [InlineData("x:")]
    public void A_bad_image_reference_is_refused(string image) =>
        Refused($$"""{"image":"{{image}}","command":["/x"]}""", "image");

    [Fact]
    public void A_command_with_a_nul_is_refused() =>
        Refused("""{"runtime":"python","command":["python3","a\u0000b"]}""", "command[1]").Message.ShouldContain("NUL");

    [Fact]
    public void Too_many_command_elements_are_refused()
    {
        var argv = string.Join(",", Enumerable.Repeat("\"a\"", AgentManifestReader.MaxCommandElements + 1));
        Refused($$"""{"runtime":"python","command":[{{argv}}]}""", "command");
    }

    [Fact]
    public void A_manifest_that_is_a_link_is_not_followed()
    {
        var folder = Directory.CreateTempSubdirectory("cyagents-manifest-").FullName;
        var secret = Path.Combine(folder, "secret.json");
        File.WriteAllText(secret, """{"runtime":"python","command":["python3"]}""");
        File.CreateSymbolicLink(Path.Combine(folder, AgentManifestReader.FileName), secret);

        var refused = Should.Throw<AgentManifestException>(() => AgentManifestReader.ReadFolder(folder));

        refused.Message.ShouldContain("link or a special file");
    }

    [Fact]
    public void A_folder_without_a_manifest_is_refused_in_one_line()
    {
        var folder = Directory.CreateTempSubdirectory("cyagents-manifest-").FullName;
        Should.Throw<AgentManifestException>(() => AgentManifestReader.ReadFolder(folder)).Message.ShouldContain("missing");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "workspaces", "genesis"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }
}
