using System.ComponentModel.DataAnnotations;

namespace Sagas.Api.Infrastructure;

public sealed class ApiOptions
{
    public const string SectionName = "Api";

    /// <summary>Origins allowed to call the API from a browser on another site; empty means same-origin only.</summary>
    public List<string> CorsOrigins { get; set; } = [];

    /// <summary>Requests per minute per caller on routes that change something (submit, cancel, start, CRUD).</summary>
    [Range(1, 1_000_000)]
    public int MutationsPerMinute { get; set; } = 120;

    /// <summary>Largest JSON body accepted, in bytes.</summary>
    [Range(1024, 1L << 30)]
    public long MaxJsonBodyBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>Largest upload (files, ZIP, manifest) accepted, in bytes.</summary>
    [Range(1024, 16L << 30)]
    public long MaxUploadBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>How long a schedule request waits for a process with the scheduler role before answering 503.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:05:00")]
    public TimeSpan SchedulerRequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Address the outside world reaches this API on; used in links (downloads) the API hands out.</summary>
    public string? PublicBaseUrl { get; set; }
}
