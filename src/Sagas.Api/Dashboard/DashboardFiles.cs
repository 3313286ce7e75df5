using Microsoft.Extensions.FileProviders;
using Sagas.Modules;

namespace Sagas.Api.Dashboard;

public static class DashboardFiles
{
    public const string PagesRoute = "/dashboard/pages.json";

    /// <summary>
    /// The dashboard: the shell and shared scripts from <c>wwwroot</c>, each workflow's page script from its own
    /// assembly at <c>/js/pages/{id}.js</c>, and the list of workflow pages the shell builds its navigation from.
    /// Public on purpose: every API call the pages make carries the credential.
    /// </summary>
    public static WebApplication UseDashboardFiles(this WebApplication app, WorkflowCatalog workflows)
    {
        var pages = workflows.Modules.Where(module => module.Page is not null).ToList();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseStaticFiles(new StaticFileOptions
        {
            RequestPath = "/js/pages",
            FileProvider = new CompositeFileProvider(pages.Select(module =>
                new EmbeddedFileProvider(module.Assembly, module.Assembly.GetName().Name + ".Dashboard"))),
        });
        var list = pages.Select(module => new { id = module.Page!.Id, title = module.Page.Title }).ToArray();
        app.MapGet(PagesRoute, () => Results.Ok(list)).AllowAnonymous().ExcludeFromDescription();
        return app;
    }
}
