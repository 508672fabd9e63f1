using Npgsql;

namespace Sovra.Gateway.Tests.Support;

/// <summary>
/// The PostgreSQL server that scripts/setup/20-postgres.sh starts (127.0.0.1:55432), or SOVRA_TEST_PG.
/// Each test gets a fresh database, dropped at the end. Outside CI a missing server skips the test with
/// the reason; in CI (CI=true) it fails it.
/// </summary>
public sealed class Postgres : IAsyncDisposable
{
    private static readonly string Admin = Environment.GetEnvironmentVariable("SOVRA_TEST_PG") is { Length: > 0 } s ? s
        : "Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres;Timeout=5";

    public string ConnectionString { get; }
    private readonly string _db;

    private Postgres(string db, string cs)
    {
        _db = db;
        ConnectionString = cs;
    }

    public static async Task<Postgres> CreateAsync()
    {
        try
        {
            await using var c = new NpgsqlConnection(Admin);
            await c.OpenAsync();
            var db = "sovra_t_" + Guid.NewGuid().ToString("N")[..12];
            await using (var cmd = new NpgsqlCommand($"CREATE DATABASE {db}", c)) await cmd.ExecuteNonQueryAsync();
            var cs = new NpgsqlConnectionStringBuilder(Admin) { Database = db, MaxPoolSize = 40 }.ToString();
            return new Postgres(db, cs);
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            var reason = $"PostgreSQL is not reachable ({e.GetType().Name}); run scripts/setup/20-postgres.sh or set SOVRA_TEST_PG";
            if (Environment.GetEnvironmentVariable("CI") == "true") throw new InvalidOperationException(reason + " — required in CI", e);
            throw new SkipException(reason);
        }
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using var c = new NpgsqlConnection(Admin);
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_db} WITH (FORCE)", c);
            await cmd.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException) { }
    }
}
