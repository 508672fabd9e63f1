namespace Sovra.Gateway.Storage;

/// <summary>Thrown when a second gateway process opens an embedded SQLite ledger that another one holds.</summary>
public sealed class LedgerInUseException(string message) : Exception(message);

/// <summary>
/// One gateway process at a time owns an embedded SQLite ledger: it keeps budget reservations in memory
/// (<see cref="BudgetBook"/>), which is only exact when no other process spends from the same file. The
/// owner holds an exclusive lock on "&lt;ledger&gt;.lock" (flock on Linux, released by the OS when the
/// process ends, SIGKILL included). Several gateways sharing budgets use PostgreSQL.
/// </summary>
public sealed class SqliteOwnership : IDisposable
{
    private readonly FileStream _lock;

    private SqliteOwnership(FileStream f) => _lock = f;

    /// <summary>Takes the lock, waiting up to <paramref name="wait"/> for a process that is exiting to let it go.</summary>
    public static async Task<SqliteOwnership> AcquireAsync(string databasePath, TimeSpan wait, CancellationToken ct)
    {
        var path = databasePath + ".lock";
        var until = DateTime.UtcNow + wait;
        while (true)
        {
            try
            {
                return new SqliteOwnership(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(100, ct);
            }
            catch (IOException)
            {
                throw new LedgerInUseException(
                    $"the SQLite ledger {Path.GetFileName(databasePath)} is used by another gateway process (lock file {Path.GetFileName(path)}); " +
                    "an embedded ledger belongs to one process; run several gateways on one PostgreSQL (ledger.postgres) instead");
            }
        }
    }

    public void Dispose() => _lock.Dispose();
}
