using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Core.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sagas.ScanSessions.Ocr;
using Sagas.ScanSessions.Reports;
using Sagas.ScanSessions.Sources;

namespace Sagas.ScanSessions.Files;

public static class ScanFilesRegistration
{
    /// <summary>
    /// Registers the stateless file-processing services (all singletons) with <see cref="ScanFilesOptions"/> from
    /// <c>ScanSessions:Files</c>, validated on start, so a bad limit stops the host at startup.
    /// </summary>
    public static IServiceCollection AddScanFiles(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddValidatedOptions<ScanFilesOptions>(configuration, ScanFilesOptions.SectionName);
        services.AddValidatedOptions<OcrOptions>(configuration, OcrOptions.SectionName);
        services.AddSingleton<ITextExtractor, TextExtractor>();
        services.TryAddSingleton<IOcrEngine, LocalOcrEngine>();
        services.AddSingleton<OcrReader>();
        services.AddSingleton<UploadSource>();
        services.AddSingleton<ManifestReader>();
        services.AddSingleton<FileContentSource>();
        services.AddSingleton(_ => new ScanReportWriter());
        return services;
    }
}
