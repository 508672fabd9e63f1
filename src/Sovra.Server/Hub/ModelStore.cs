using Microsoft.Data.Sqlite;
using Sovra.Server.Models;

namespace Sovra.Server.Hub;

/// <summary>A model file in the models folder, and where it came from when `sovra pull` fetched it.</summary>
public sealed record StoredModel(string Id, string Path, long Size, DateTimeOffset Modified, string? Source, string? Repo, string? Sha256, DateTimeOffset? PulledAt);

/// <summary>
/// The models folder and its record of pulls, kept in an embedded SQLite file beside the models
/// (.sovra-models.db): which repository, file and sha256 each pulled model came from. The folder itself
/// is the truth about what exists; the record only adds provenance.
/// </summary>
public sealed class ModelStore(string modelsDir)
{
    public string ModelsDir { get; } = modelsDir;
    private string DbPath => Path.Combine(ModelsDir, ".sovra-models.db");

    public static string DestinationFileName(HubFile file) => Path.GetFileName(file.Path);

    public string PathFor(HubFile file) => Path.Combine(ModelsDir, DestinationFileName(file));

    public IReadOnlyList<StoredModel> List()
    {
        if (!Directory.Exists(ModelsDir)) return [];
        var records = ReadRecords();
        return Directory.EnumerateFiles(ModelsDir, "*.gguf").Order(StringComparer.Ordinal).Select(path =>
        {
            var info = new FileInfo(path);
            var id = ModelIds.FromFileName(info.Name);
            records.TryGetValue(info.Name, out var r);
            return new StoredModel(id, info.FullName, info.Length, info.LastWriteTimeUtc, r.Source, r.Repo, r.Sha256, r.PulledAt);
        }).ToList();
    }

    public void Record(HubFile file, string source)
    {
        Directory.CreateDirectory(ModelsDir);
        using var db = Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = """
            INSERT INTO pulls(file, source, repo, path, revision, commit_id, sha256, size, pulled_at)
            VALUES ($file, $source, $repo, $path, $revision, $commit, $sha, $size, $at)
            ON CONFLICT(file) DO UPDATE SET source=excluded.source, repo=excluded.repo, path=excluded.path, revision=excluded.revision,
              commit_id=excluded.commit_id, sha256=excluded.sha256, size=excluded.size, pulled_at=excluded.pulled_at
            """;
        cmd.Parameters.AddWithValue("$file", DestinationFileName(file));
        cmd.Parameters.AddWithValue("$source", source);
        cmd.Parameters.AddWithValue("$repo", file.Repo);
        cmd.Parameters.AddWithValue("$path", file.Path);
        cmd.Parameters.AddWithValue("$revision", file.Revision);
        cmd.Parameters.AddWithValue("$commit", (object?)file.Commit ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$sha", file.Sha256);
        cmd.Parameters.AddWithValue("$size", file.Size);
        cmd.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToString("O"));
        cmd.ExecuteNonQuery();
    }

    /// <summary>Deletes a model by id (file name without .gguf) or file name; returns the path removed.</summary>
    public string Remove(string idOrFile)
    {
        var all = List();
        var hit = all.FirstOrDefault(m => m.Id == idOrFile || Path.GetFileName(m.Path) == idOrFile)
            ?? throw new FileNotFoundException($"no model '{idOrFile}' in {ModelsDir}; there {(all.Count == 1 ? "is" : "are")}: {(all.Count == 0 ? "none" : string.Join(", ", all.Select(m => m.Id)))}");
        File.Delete(hit.Path);
        var part = hit.Path + ".part";
        if (File.Exists(part)) File.Delete(part);
        if (File.Exists(DbPath))
        {
            using var db = Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "DELETE FROM pulls WHERE file = $file";
            cmd.Parameters.AddWithValue("$file", Path.GetFileName(hit.Path));
            cmd.ExecuteNonQuery();
        }
        return hit.Path;
    }

    private Dictionary<string, (string? Source, string? Repo, string? Sha256, DateTimeOffset? PulledAt)> ReadRecords()
    {
        var map = new Dictionary<string, (string?, string?, string?, DateTimeOffset?)>(StringComparer.Ordinal);
        if (!File.Exists(DbPath)) return map;
        using var db = Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT file, source, repo, sha256, pulled_at FROM pulls";
        using var r = cmd.ExecuteReader();
        while (r.Read())
            map[r.GetString(0)] = (r.IsDBNull(1) ? null : r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3),
                r.IsDBNull(4) ? null : DateTimeOffset.Parse(r.GetString(4), System.Globalization.CultureInfo.InvariantCulture));
        return map;
    }

    private SqliteConnection Open()
    {
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Pooling = false }.ToString());
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE IF NOT EXISTS pulls(
              file TEXT PRIMARY KEY, source TEXT NOT NULL, repo TEXT NOT NULL, path TEXT NOT NULL, revision TEXT NOT NULL,
              commit_id TEXT, sha256 TEXT NOT NULL, size INTEGER NOT NULL, pulled_at TEXT NOT NULL)
            """;
        cmd.ExecuteNonQuery();
        return db;
    }
}

/// <summary>`sovra pull` as a library call: resolve the spec on the Hub, download, verify, record.</summary>
public static class ModelPuller
{
    public static async Task<(HubFile File, string Path, bool AlreadyThere)> PullAsync(HubClient hub, ModelStore store, string spec,
        IProgress<DownloadProgress>? progress = null, Action<HubFile>? onResolved = null, CancellationToken cancellation = default)
    {
        var parsed = ModelSpec.Parse(spec);
        HubFile file;
        if (parsed.File != null) file = await hub.ResolveAsync(parsed.Repo, parsed.File, cancellation: cancellation).ConfigureAwait(false);
        else
        {
            var listed = await hub.ListAsync(parsed.Repo, cancellation: cancellation).ConfigureAwait(false);
            var chosen = ModelSpec.ChooseFile(parsed.Repo, parsed.Quant, listed.Select(f => f.Path).ToList());
            file = await hub.ResolveAsync(parsed.Repo, chosen, cancellation: cancellation).ConfigureAwait(false);
        }
        onResolved?.Invoke(file);
        var path = store.PathFor(file);
        if (File.Exists(path) && new FileInfo(path).Length == file.Size && store.List().Any(m => m.Path == Path.GetFullPath(path) && m.Sha256 == file.Sha256))
            return (file, path, true);
        await hub.DownloadAsync(file, path, progress, cancellation).ConfigureAwait(false);
        store.Record(file, parsed.Original);
        return (file, path, false);
    }
}
