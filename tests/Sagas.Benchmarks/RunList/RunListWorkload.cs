using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Npgsql;

namespace Sagas.Benchmarks.RunList;

/// <summary>
/// <c>GET /api/runs</c> over a million runs of the three workflows in PostgreSQL: the API process on the migrated
/// schema (its indexes), rows seeded by <c>INSERT … SELECT generate_series</c>, then each filter timed over repeated
/// requests, cursor pages deep into the list included. No worker runs: the list reads tables only.
/// </summary>
internal sealed class RunListWorkload : IWorkload
{
    public string Name => "run-list";

    public string Description => "GET /api/runs at 1,000,000 runs: first page, deep cursor pages and each filter. [--quick] [--runs N] [--repeat N]";

    public async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var runs = BenchmarkArguments.Int(args, "--runs", quick ? 30_000 : 1_000_000);
        var repeat = BenchmarkArguments.Int(args, "--repeat", quick ? 5 : 30);

        await using var database = await BenchmarkServers.CreateDatabaseAsync();
        await using var broker = await BenchmarkServers.CreateVirtualHostAsync();
        var settings = new Dictionary<string, string>
        {
            ["Messaging:Transport"] = "RabbitMq",
            ["Messaging:RabbitMq:Uri"] = broker.Address.ToString(),
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = database.ConnectionString,
            ["Worker:Roles"] = "none",
        };

        Console.WriteLine($"# run-list: GET /api/runs over {runs:N0} runs (40 % LLM jobs, 30 % scan sessions with one file each, 30 % prompt analyses over 100 projects), {repeat} requests per row, one at a time");
        Console.WriteLine(BenchmarkMachine.Describe());
        Console.WriteLine();

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(120) };
        await using var api = HostProcess.Start("Sagas.Api", settings);
        await api.WaitUntilReadyAsync(client, TimeSpan.FromSeconds(90));

        var seeding = Stopwatch.StartNew();
        var project = await SeedAsync(database.ConnectionString, runs);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seeded {runs:N0} runs (+ {runs * 3 / 10:N0} file rows) and ANALYZEd in {seeding.Elapsed.TotalSeconds:F0} s"));
        Console.WriteLine();

        var (_, firstPage) = await GetAsync(client, api.BaseAddress, "api/runs?limit=50");
        var someId = firstPage.RootElement.GetProperty("items")[10].GetProperty("id").GetGuid();

        (string Title, string Query)[] scenarios =
        [
            ("first page, every workflow", "api/runs?limit=50"),
            ("first page, one workflow (llm-jobs)", "api/runs?workflow=llm-jobs&limit=50"),
            ("status = failed (2 % of runs)", "api/runs?workflow=llm-jobs,scan-sessions&status=failed&limit=50"),
            ("one project (1 % of runs)", $"api/runs?project={project}&limit=50"),
            ("time range: one day 200 days back", $"api/runs?from={Instant(-200)}&to={Instant(-199)}&limit=50"),
            ("text: run id", $"api/runs?text={someId}&limit=50"),
            ("text: a word in 10 % of titles", "api/runs?text=urgent&limit=50"),
            ("text: a file name of one session", "api/runs?workflow=scan-sessions&text=file-000123.pdf&limit=50"),
            ("text matching nothing", "api/runs?text=no-such-run-anywhere&limit=50"),
        ];

        Console.WriteLine("| request | runs answered | p50 (ms) | p95 (ms) | max (ms) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var (title, query) in scenarios)
            await MeasureAsync(client, api.BaseAddress, title, query, repeat);

        // Deep keyset paging: follow the cursor 200 pages of 50 (10,000 runs in) and time each page.
        var pageTimes = new List<double>();
        string? next = null;
        for (var page = 0; page < (quick ? 20 : 200); page++)
        {
            var (elapsed, body) = await GetAsync(client, api.BaseAddress, "api/runs?limit=50" + (next is null ? "" : "&cursor=" + next));
            pageTimes.Add(elapsed);
            next = body.RootElement.GetProperty("next").GetString();
            body.Dispose();
            if (next is null)
                break;
        }

        Row($"cursor pages 1–{pageTimes.Count} (50 runs each, every workflow)", 50, pageTimes);
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"API peak RSS {api.PeakResidentMegabytes():F0} MiB; load average after: {BenchmarkMachine.LoadAverage()}"));
        return 0;
    }

    private static string Instant(int days) =>
        Uri.EscapeDataString(DateTimeOffset.UtcNow.Date.AddDays(days).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));

    private static async Task MeasureAsync(HttpClient client, Uri api, string title, string query, int repeat)
    {
        // One warm-up (plan cache, JIT), then the timed requests.
        var (_, warm) = await GetAsync(client, api, query);
        var count = warm.RootElement.GetProperty("items").GetArrayLength();
        warm.Dispose();
        var times = new List<double>();
        for (var i = 0; i < repeat; i++)
        {
            var (elapsed, body) = await GetAsync(client, api, query);
            body.Dispose();
            times.Add(elapsed);
        }

        Row(title, count, times);
    }

    private static void Row(string title, int count, List<double> times)
    {
        times.Sort();
        double At(double q) => times[Math.Min(times.Count - 1, (int)Math.Ceiling(q * times.Count) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {title} | {count} | {At(0.5):F1} | {At(0.95):F1} | {times[^1]:F1} |"));
    }

    private static async Task<(double Milliseconds, JsonDocument Body)> GetAsync(HttpClient client, Uri api, string query)
    {
        var watch = Stopwatch.StartNew();
        using var response = await client.GetAsync(new Uri(api, query));
        var text = await response.Content.ReadAsStringAsync();
        watch.Stop();
        if (response.StatusCode != HttpStatusCode.OK)
            throw new BenchmarkSetupException($"GET {query} answered {(int)response.StatusCode}: {text}");
        return (watch.Elapsed.TotalMilliseconds, JsonDocument.Parse(text));
    }

    /// <summary>
    /// Fills the three workflows' tables: every NOT NULL column gets a value of its type, then the columns the list
    /// reads get realistic ones (creation times spread over a year, 2 % failed, 10 % of titles with "urgent").
    /// Returns a project id that owns 1 % of the prompt analyses.
    /// </summary>
    private static async Task<Guid> SeedAsync(string connectionString, int runs)
    {
        var jobs = runs * 4 / 10;
        var sessions = runs * 3 / 10;
        var analyses = runs - jobs - sessions;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();

        var project = Guid.NewGuid();
        await ExecuteAsync(connection, $"""
            INSERT INTO analysis_runs ({await ColumnsAsync(connection, "analysis_runs", "id", "run_key", "created_at")}, id, run_key, created_at)
            SELECT {await ValuesAsync(connection, "analysis_runs", "id", "run_key", "created_at")}, gen_random_uuid(), 'bench-' || g, now() - (g || ' days')::interval
            FROM generate_series(1, 100) g
            """);
        await ExecuteAsync(connection, $"""
            INSERT INTO llm_jobs ({await ColumnsAsync(connection, "llm_jobs", "id", "status", "kind", "created_at")}, id, status, kind, created_at)
            SELECT {await ValuesAsync(connection, "llm_jobs", "id", "status", "kind", "created_at")}, gen_random_uuid(),
                   CASE WHEN g % 50 = 0 THEN 'failed' WHEN g % 50 = 1 THEN 'running' ELSE 'completed' END,
                   CASE WHEN g % 10 = 0 THEN 'urgent-flagging' ELSE 'flagging' END,
                   now() - (g * 31536.0 / {jobs}) * interval '1000 seconds'
            FROM generate_series(1, {jobs}) g
            """);
        await ExecuteAsync(connection, $"""
            INSERT INTO scan_sessions ({await ColumnsAsync(connection, "scan_sessions", "id", "status", "source_description", "created_at")}, id, status, source_description, created_at)
            SELECT {await ValuesAsync(connection, "scan_sessions", "id", "status", "source_description", "created_at")}, gen_random_uuid(),
                   CASE WHEN g % 50 = 0 THEN 'failed' ELSE 'completed' END,
                   CASE WHEN g % 10 = 0 THEN 'urgent upload ' || g ELSE 'upload ' || g END,
                   now() - (g * 31536.0 / {sessions}) * interval '1000 seconds'
            FROM generate_series(1, {sessions}) g
            """);
        await ExecuteAsync(connection, $"""
            INSERT INTO scan_file_results ({await ColumnsAsync(connection, "scan_file_results", "session_id", "file_index", "name", "processed_at")}, session_id, file_index, name, processed_at)
            SELECT {await ValuesAsync(connection, "scan_file_results", "session_id", "file_index", "name", "processed_at")}, s.id, 0,
                   'file-' || lpad((row_number() OVER ())::text, 6, '0') || '.pdf', s.created_at
            FROM scan_sessions s
            """);
        await ExecuteAsync(connection, $"""
            INSERT INTO analysis_jobs ({await ColumnsAsync(connection, "analysis_jobs", "id", "run_id", "prompt_id", "project_id", "status", "prompt_text", "created_at")}, id, run_id, prompt_id, project_id, status, prompt_text, created_at)
            SELECT {await ValuesAsync(connection, "analysis_jobs", "id", "run_id", "prompt_id", "project_id", "status", "prompt_text", "created_at")}, gen_random_uuid(),
                   (SELECT id FROM analysis_runs ORDER BY run_key LIMIT 1 OFFSET (g % 100)), gen_random_uuid(),
                   CASE WHEN g % 100 = 0 THEN '{project}'::uuid ELSE gen_random_uuid() END,
                   CASE WHEN g % 50 = 0 THEN 'failed' ELSE 'completed' END,
                   CASE WHEN g % 10 = 0 THEN 'urgent: which bikes are best ' || g ELSE 'which bikes are best ' || g END,
                   now() - (g * 31536.0 / {analyses}) * interval '1000 seconds'
            FROM generate_series(1, {analyses}) g
            """);
        await ExecuteAsync(connection, "ANALYZE");
        return project;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 1800 };
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<(string Name, string Type)>> RequiredColumnsAsync(NpgsqlConnection connection, string table, string[] except)
    {
        await using var command = new NpgsqlCommand(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = @t AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO' ORDER BY ordinal_position",
            connection);
        command.Parameters.AddWithValue("t", table);
        var columns = new List<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var name = reader.GetString(0);
            if (!except.Contains(name))
                columns.Add((name, reader.GetString(1)));
        }

        return columns;
    }

    private static async Task<string> ColumnsAsync(NpgsqlConnection connection, string table, params string[] except) =>
        string.Join(", ", (await RequiredColumnsAsync(connection, table, except)).Select(c => $"\"{c.Name}\""));

    private static async Task<string> ValuesAsync(NpgsqlConnection connection, string table, params string[] except) =>
        string.Join(", ", (await RequiredColumnsAsync(connection, table, except)).Select(c => c.Type switch
        {
            "uuid" => "gen_random_uuid()",
            "boolean" => "false",
            "integer" or "bigint" or "smallint" or "numeric" or "double precision" => "0",
            "timestamp with time zone" => "now()",
            "jsonb" or "json" => "'[]'",
            "ARRAY" => "'{}'",
            _ => "''",
        }));
}
