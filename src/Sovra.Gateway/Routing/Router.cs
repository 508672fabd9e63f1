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
            if (be is null || (jurisdictions.Count > 0 && !Contains(jurisdictions, be.Jurisdiction))) continue;
            list.Add(new Candidate(rc, be, states(be.Name)));
        }
        if (list.Count < 2) return list;
        // priority is a tier for every strategy: the strategy orders the candidates of one tier, and a higher
        // tier is only the fallback (a stable sort keeps the configured order among equals).
        Span<double> keys = list.Count <= 64 ? stackalloc double[list.Count] : new double[list.Count];
        for (var i = 0; i < list.Count; i++)
        {
            var c = list[i];
            keys[i] = route.Strategy switch
            {
                // Weighted random order without replacement (Efraimidis–Spirakis): key u^(1/w), largest first.
                RouteStrategy.Weighted => -(c.Route.Weight <= 0 ? -1 : Math.Pow(Random.Shared.NextDouble(), 1 / c.Route.Weight)),
                RouteStrategy.LeastOutstanding => c.State.InFlight,
                // A backend never measured goes first, so every backend gets a measurement.
                RouteStrategy.LowestLatency => c.State.LatencyEwmaMs is var l && double.IsNaN(l) ? -1 : l,
                RouteStrategy.LowestCost => c.Backend.PriceInputPerMillion + c.Backend.PriceOutputPerMillion,
                _ => 0,
            };
        }
        StableSort(list, keys);
        return list;
    }

    private static bool Contains(IReadOnlyCollection<string> set, string value)
    {
        if (set is IReadOnlyList<string> l)
        {
            for (var i = 0; i < l.Count; i++)
                if (l[i] == value) return true;
            return false;
        }
        return set.Contains(value);
    }

    /// <summary>Insertion sort by (priority, key): stable, and the lists are a handful of backends.</summary>
    private static void StableSort(List<Candidate> list, Span<double> keys)
    {
        for (var i = 1; i < list.Count; i++)
        {
            var c = list[i];
            var k = keys[i];
            var j = i - 1;
            while (j >= 0 && Before(c, k, list[j], keys[j]))
            {
                list[j + 1] = list[j];
                keys[j + 1] = keys[j];
                j--;
            }
            list[j + 1] = c;
            keys[j + 1] = k;
        }
    }

    private static bool Before(Candidate a, double ka, Candidate b, double kb) =>
        a.Route.Priority != b.Route.Priority ? a.Route.Priority < b.Route.Priority : ka < kb;
}
