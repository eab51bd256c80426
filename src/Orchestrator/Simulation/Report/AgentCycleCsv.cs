using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace CyAgents.Orchestrator.Simulation.Report;

/// <summary>
/// Per-agent output: one gzip-compressed CSV row per agent and cycle (<c>cycle,agent,balance,bid,won,payment</c>),
/// written while the run goes so 100,000 agents never sit in memory as rows. Loads straight into pandas:
/// <c>pd.read_csv("agents-critical-value.csv.gz")</c>. Numbers are whole credits; the bytes depend only on the run.
/// </summary>
public sealed class AgentCycleCsv : IDisposable
{
    public const string Header = "cycle,agent,balance,bid,won,payment";

    private readonly FileStream _file;
    private readonly GZipStream _zip;
    private readonly StreamWriter _writer;
    private readonly char[] _number = new char[24];

    public AgentCycleCsv(string path)
    {
        _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        // Optimal rather than fastest: the file is written once and read many times; the run costs dominate anyway.
        _zip = new GZipStream(_file, CompressionLevel.Optimal);
        _writer = new StreamWriter(_zip, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
        _writer.Write(Header);
        _writer.Write('\n');
    }

    public static string FileName(string label) => "agents-" + label.Replace('/', '-') + ".csv.gz";

    /// <summary>One cycle: every agent's posted balance after settlement, its bid (0 when it did not bid), win and payment.</summary>
    public void Write(int cycle, IReadOnlyList<string> agents, long[] balance, long[] bid, bool[] won, long[] payment)
    {
        for (var i = 0; i < agents.Count; i++)
        {
            Number(cycle);
            _writer.Write(',');
            _writer.Write(agents[i]);
            _writer.Write(',');
            Number(balance[i]);
            _writer.Write(',');
            Number(bid[i]);
            _writer.Write(won[i] ? ",1," : ",0,");
            Number(payment[i]);
            _writer.Write('\n');
        }
    }

    private void Number(long value)
    {
        value.TryFormat(_number, out var written, default, CultureInfo.InvariantCulture);
        _writer.Write(_number, 0, written);
    }

    public void Dispose()
    {
        _writer.Dispose();
        _zip.Dispose();
        _file.Dispose();
    }
}
