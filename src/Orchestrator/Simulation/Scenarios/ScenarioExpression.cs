using System.Globalization;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>
/// A number in a scenario file that depends on the run's size: a JSON number, or a string formula over the
/// variables a field allows (<c>n</c> agents, <c>c</c> cycles) with + − * / % ^, parentheses and sqrt, ceil, floor,
/// round, min, max, abs. Parsed once when the file is read (so a typo fails before any run), evaluated in double
/// precision left to right as C# would (e.g. <c>ceil(100*sqrt(n-1))+1</c>).
/// </summary>
public sealed class ScenarioExpression
{
    private readonly Func<IReadOnlyDictionary<char, double>, double> _evaluate;

    private ScenarioExpression(string text, Func<IReadOnlyDictionary<char, double>, double> evaluate)
    {
        Text = text;
        _evaluate = evaluate;
    }

    public string Text { get; }

    public static ScenarioExpression Constant(double value) =>
        new(value.ToString("R", CultureInfo.InvariantCulture), _ => value);

    /// <summary>Parses <paramref name="text"/>; throws <see cref="FormatException"/> with what is wrong and where.</summary>
    public static ScenarioExpression Parse(string text, string variables)
    {
        var parser = new Parser(text, variables);
        var evaluate = parser.ParseAll();
        return new ScenarioExpression(text, evaluate);
    }

    public double Evaluate(double n = 0, double c = 0) => _evaluate(new Dictionary<char, double> { ['n'] = n, ['c'] = c });

    private sealed class Parser(string text, string variables)
    {
        private int _at;

        public Func<IReadOnlyDictionary<char, double>, double> ParseAll()
        {
            var e = Sum();
            Skip();
            if (_at < text.Length)
                throw Error($"unexpected '{text[_at]}'");
            return e;
        }

        private Func<IReadOnlyDictionary<char, double>, double> Sum()
        {
            var left = Product();
            while (true)
            {
                Skip();
                if (Eat('+')) { var l = left; var r = Product(); left = v => l(v) + r(v); }
                else if (Eat('-')) { var l = left; var r = Product(); left = v => l(v) - r(v); }
                else return left;
            }
        }

        private Func<IReadOnlyDictionary<char, double>, double> Product()
        {
            var left = Power();
            while (true)
            {
                Skip();
                if (Eat('*')) { var l = left; var r = Power(); left = v => l(v) * r(v); }
                else if (Eat('/')) { var l = left; var r = Power(); left = v => l(v) / r(v); }
                else if (Eat('%')) { var l = left; var r = Power(); left = v => l(v) % r(v); }
                else return left;
            }
        }

        private Func<IReadOnlyDictionary<char, double>, double> Power()
        {
            var b = Unary();
            Skip();
            if (!Eat('^'))
                return b;
            var e = Power();
            return v => Math.Pow(b(v), e(v));
        }

        private Func<IReadOnlyDictionary<char, double>, double> Unary()
        {
            Skip();
            if (Eat('-')) { var inner = Unary(); return v => -inner(v); }
            return Atom();
        }

        private Func<IReadOnlyDictionary<char, double>, double> Atom()
        {
            Skip();
            if (_at >= text.Length)
                throw Error("unexpected end");
            var ch = text[_at];
            if (Eat('('))
            {
                var inner = Sum();
                Expect(')');
                return inner;
            }
            if (char.IsAsciiDigit(ch) || ch == '.')
            {
                var start = _at;
                while (_at < text.Length && (char.IsAsciiDigit(text[_at]) || text[_at] == '.'))
                    _at++;
                if (!double.TryParse(text.AsSpan(start, _at - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
                    throw Error($"bad number '{text[start.._at]}'");
                return _ => number;
            }
            if (char.IsAsciiLetter(ch))
            {
                var start = _at;
                while (_at < text.Length && char.IsAsciiLetter(text[_at]))
                    _at++;
                var name = text[start.._at];
                if (name.Length == 1 && variables.Contains(name[0]))
                {
                    var variable = name[0];
                    return v => v[variable];
                }
                Skip();
                if (!Eat('('))
                    throw Error(name.Length == 1
                        ? $"unknown variable '{name}' (allowed here: {string.Join(", ", variables.ToCharArray())})"
                        : $"unknown name '{name}'");
                var args = new List<Func<IReadOnlyDictionary<char, double>, double>> { Sum() };
                while (true)
                {
                    Skip();
                    if (Eat(',')) { args.Add(Sum()); continue; }
                    break;
                }
                Expect(')');
                return Function(name, args);
            }
            throw Error($"unexpected '{ch}'");
        }

        private Func<IReadOnlyDictionary<char, double>, double> Function(string name, List<Func<IReadOnlyDictionary<char, double>, double>> a)
        {
            Func<IReadOnlyDictionary<char, double>, double> One(Func<double, double> f)
            {
                if (a.Count != 1)
                    throw Error($"{name} takes one argument");
                var x = a[0];
                return v => f(x(v));
            }
            Func<IReadOnlyDictionary<char, double>, double> Two(Func<double, double, double> f)
            {
                if (a.Count != 2)
                    throw Error($"{name} takes two arguments");
                var (x, y) = (a[0], a[1]);
                return v => f(x(v), y(v));
            }
            return name switch
            {
                "sqrt" => One(Math.Sqrt),
                "ceil" => One(Math.Ceiling),
                "floor" => One(Math.Floor),
                "round" => One(Math.Round),
                "abs" => One(Math.Abs),
                "min" => Two(Math.Min),
                "max" => Two(Math.Max),
                _ => throw Error($"unknown function '{name}'"),
            };
        }

        private void Skip()
        {
            while (_at < text.Length && text[_at] == ' ')
                _at++;
        }

        private bool Eat(char ch)
        {
            if (_at < text.Length && text[_at] == ch)
            {
                _at++;
                return true;
            }
            return false;
        }

        private void Expect(char ch)
        {
            Skip();
            if (!Eat(ch))
                throw Error($"expected '{ch}'");
        }

        private FormatException Error(string what) => new($"{what} at position {_at + 1} of \"{text}\"");
    }
}
