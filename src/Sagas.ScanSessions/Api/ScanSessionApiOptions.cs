using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sagas.ScanSessions.Api;

/// <summary>Limits of the scan session routes (section <c>Api:ScanSessions</c>); file sizes and code counts come from <c>ScanSessions:Files</c>.</summary>
public sealed class ScanSessionApiOptions
{
    public const string SectionName = "Api:ScanSessions";

    /// <summary>Files one multipart request may carry; more belong in a ZIP.</summary>
    public int MaxFilesPerUpload { get; set; } = 1_000;

    public static ScanSessionApiOptions Read(IConfiguration configuration)
    {
        var options = new ScanSessionApiOptions();
        configuration.GetSection(SectionName).Bind(options);
        if (options.MaxFilesPerUpload is < 1 or > 100_000)
            throw new SagasConfigurationException($"{SectionName}:{nameof(MaxFilesPerUpload)} is {options.MaxFilesPerUpload}; use 1 to 100000.");
        return options;
    }
}
