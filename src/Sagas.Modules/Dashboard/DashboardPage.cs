namespace Sagas.Modules.Dashboard;

/// <summary>
/// A workflow's page in the dashboard. Its script is the ES module <c>Dashboard/{Id}.js</c> embedded in the
/// workflow's assembly; the API serves it at <c>/js/pages/{Id}.js</c>, beside the dashboard's shared scripts it
/// imports (<c>../api.js</c>, <c>../ui.js</c>, <c>../live.js</c>). It exports <c>title</c> and <c>render(main, args)</c>.
/// </summary>
/// <param name="Id">The route (<c>#/{Id}</c>) and the script's file name.</param>
/// <param name="Title">The navigation label.</param>
public sealed record DashboardPage(string Id, string Title);
