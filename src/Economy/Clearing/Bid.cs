using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Clearing;

/// <summary>
/// A sealed offer of <see cref="Amount"/> credits for the whole <see cref="Bundle"/> in one cycle
/// (single-minded: all of it or nothing). <see cref="Id"/> is the stable tie-break key.
/// </summary>
/// <param name="Id">Unique id of the bid; ties in every mechanism are broken by ordinal order of this id.</param>
/// <param name="AgentId">The bidding agent.</param>
/// <param name="Bundle">What the agent wants for the cycle.</param>
/// <param name="Amount">Credits offered (its reported value); positive.</param>
public sealed record Bid(string Id, string AgentId, ResourceBundle Bundle, long Amount);

/// <summary>One winner of a clearing: the granted bundle and the whole-credit payment.</summary>
/// <param name="BidId">The winning bid.</param>
/// <param name="AgentId">The winning agent.</param>
/// <param name="Bundle">The bundle granted: the whole bundle bid for, except under <c>proportional</c>, which grants a scaled part of it.</param>
/// <param name="Amount">What the bid offered.</param>
/// <param name="Payment">What the winner pays; never more than <paramref name="Amount"/>.</param>
public sealed record Allocation(string BidId, string AgentId, ResourceBundle Bundle, long Amount, long Payment);
