using Sovra.Gateway.Config;

namespace Sovra.Gateway.Routing;

public sealed record Candidate(RouteCandidate Route, BackendConfig Backend, BackendState State);

/// <summary>Orders a route's candidates by its strategy, after residency has removed every backend the request may not reach.</summary>
public static class Router
{
    /// <param name="jurisdictions">Allowed jurisdiction labels; empty means any.</param>
    public static List<Candidate> Order(RouteConfig route, GatewayConfig config, Func<string, BackendState> states, IReadOnlyCollection<string> jurisdictions)
    {
        var list = new List<Candidate>(route.Candidates.Count);
        foreach (var rc in route.Candidates)
        {
            var be = config.Backend(rc.Backend);
            // Residency is decided here, before any connection exists: a backend outside the allowed set never enters the list.
            if (be is null || (jurisdictions.Count > 0 && !jurisdictions.Contains(be.Jurisdiction))) continue;
            list.Add(new Candidate(rc, be, states(be.Name)));
        }
        switch (route.Strategy)
        {
            case RouteStrategy.Priority:
                return list.OrderBy(c => c.Route.Priority).ToList();
            case RouteStrategy.Weighted:
                // Weighted random order without replacement (Efraimidis–Spirakis): key u^(1/w), largest first.
                return list.Select(c => (c, k: c.Route.Weight <= 0 ? -1 : Math.Pow(Random.Shared.NextDouble(), 1 / c.Route.Weight)))
                    .OrderByDescending(x => x.k).Select(x => x.c).ToList();
            case RouteStrategy.LeastOutstanding:
                return list.OrderBy(c => c.State.InFlight).ThenBy(c => c.Route.Priority).ToList();
            case RouteStrategy.LowestLatency:
                // A backend never measured goes first, so every backend gets a measurement.
                return list.OrderBy(c => double.IsNaN(c.State.LatencyEwmaMs) ? -1 : c.State.LatencyEwmaMs).ThenBy(c => c.Route.Priority).ToList();
            case RouteStrategy.LowestCost:
                return list.OrderBy(c => c.Backend.PriceInputPerMillion + c.Backend.PriceOutputPerMillion).ThenBy(c => c.Route.Priority).ToList();
            default:
                return list;
        }
    }
}
