using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Api.Tests.Races;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.LlmJobs.Data;
using Sagas.Persistence;

namespace Sagas.Api.Tests.Runs;

/// <summary>
/// A bulk cancel over 100,000 runs on PostgreSQL: seeded with one SQL statement (not through the bus), accepted at once
/// with its count, and worked through in batches of the configured size from a stored cursor to the last run.
/// </summary>
public sealed class When_a_bulk_cancel_covers_a_hundred_thousand_runs(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private const int Runs = 100_000;
    private const int BatchSize = 2_000;

    [ServerFact(postgres: true)]
    public async Task Should_accept_it_at_once_and_send_every_cancel_in_batches()
    {
        await using var api = new ScaleApi(database.ConnectionString);
        var client = api.CreateClient();
        await SeedAsync(api);

        var filter = new { workflow = "llm-jobs", from = "2019-01-01T00:00:00Z", to = "2020-01-01T00:00:00Z" };
        using var previewed = await client.PostAsJsonAsync("/api/runs/cancel", new { filter, dryRun = true });
        var preview = await previewed.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(Runs, preview.GetProperty("count").GetInt32());

        var operationId = Guid.NewGuid();
        using var accepted = await client.PostAsJsonAsync("/api/runs/cancel", new { filter, confirm = true, operationId });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var started = await accepted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(Runs, started.GetProperty("total").GetInt32());
        Assert.Equal("running", started.GetProperty("status").GetString());

        // Every progress read while it runs is a whole number of batches: the count moves one committed batch at a time.
        var seen = new List<int>();
        var done = await Eventually.MatchAsync(
            async () =>
            {
                var operation = await client.GetFromJsonAsync<JsonElement>($"/api/runs/bulk-operations/{operationId}");
                if (operation.GetProperty("status").GetString() == "running")
                    seen.Add(operation.GetProperty("done").GetInt32());
                return operation;
            },
            operation => operation.GetProperty("status").GetString() != "running",
            TimeSpan.FromMinutes(4),
            operation => operation.ToString());

        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(Runs, done.GetProperty("done").GetInt32());
        Assert.All(seen, value => Assert.Equal(0, value % BatchSize));
        Assert.Contains(seen, value => value > 0 && value < Runs);
    }

    /// <summary>One job through EF (so every column holds what the model writes), copied 100,000 times by PostgreSQL.</summary>
    private static async Task SeedAsync(ScaleApi api)
    {
        await using var scope = api.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var template = new LlmJob
        {
            Id = Guid.NewGuid(), Kind = "seeded", Status = LlmJobStatus.Completed,
            CreatedAt = new DateTimeOffset(2018, 6, 1, 0, 0, 0, TimeSpan.Zero), ExpiresAt = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero),
        };
        db.Add(template);
        await db.SaveChangesAsync();
        db.Database.SetCommandTimeout(TimeSpan.FromMinutes(5));
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO llm_jobs
            SELECT (jsonb_populate_record(NULL::llm_jobs, to_jsonb(t) || jsonb_build_object(
                'id', gen_random_uuid(),
                'status', CASE WHEN g % 2 = 0 THEN 'queued' ELSE 'running' END,
                'created_at', timestamptz '2019-01-01 00:00:00+00' + g * interval '1 minute'))).*
            FROM llm_jobs t, generate_series(1, {Runs}) g
            WHERE t.id = {template.Id}
            """);
    }

    private sealed class ScaleApi(string connectionString) : WebApplicationFactory<Program>
    {
        private readonly string _blobs = Path.Combine(Path.GetTempPath(), "sagas-bulk-scale-" + Guid.NewGuid().ToString("N"));

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            builder.UseSetting("Database:Provider", "PostgreSql");
            builder.UseSetting("Database:ConnectionString", connectionString);
            builder.UseSetting("Storage:Local:Root", _blobs);
            builder.UseSetting("Api:BulkOperations:BatchSize", BatchSize.ToString(global::System.Globalization.CultureInfo.InvariantCulture));
            builder.UseSetting("Api:BulkOperations:PollInterval", "00:00:00.200");
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
        }

        public override async ValueTask DisposeAsync()
        {
            await base.DisposeAsync();
            if (Directory.Exists(_blobs))
                Directory.Delete(_blobs, recursive: true);
        }
    }
}
