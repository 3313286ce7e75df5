using System;
using System.Collections.Generic;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sagas.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class PromptAnalyses : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "analysis_projects",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    brand_names = table.Column<List<string>>(type: "text[]", nullable: false),
                    domains = table.Column<List<string>>(type: "text[]", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_analysis_projects", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "analysis_runs",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    run_key = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    trigger = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    scope = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    project_id = table.Column<Guid>(type: "uuid", nullable: true),
                    prompt_id = table.Column<Guid>(type: "uuid", nullable: true),
                    slot_time = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    forced = table.Column<bool>(type: "boolean", nullable: false),
                    requested_by = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    dispatched_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    total_analyses = table.Column<int>(type: "integer", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_analysis_runs", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "prompt_analysis_sagas",
                columns: table => new
                {
                    correlation_id = table.Column<Guid>(type: "uuid", nullable: false),
                    current_state = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    version = table.Column<int>(type: "integer", nullable: false),
                    run_id = table.Column<Guid>(type: "uuid", nullable: false),
                    prompt_id = table.Column<Guid>(type: "uuid", nullable: false),
                    platforms = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    answered_platforms = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    total_platforms = table.Column<int>(type: "integer", nullable: false),
                    succeeded_platforms = table.Column<int>(type: "integer", nullable: false),
                    failed_platforms = table.Column<int>(type: "integer", nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_prompt_analysis_sagas", x => x.correlation_id);
                });

            migrationBuilder.CreateTable(
                name: "tracked_prompts",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    project_id = table.Column<Guid>(type: "uuid", nullable: false),
                    text = table.Column<string>(type: "character varying(4000)", maxLength: 4000, nullable: false),
                    active = table.Column<bool>(type: "boolean", nullable: false),
                    platforms = table.Column<List<string>>(type: "text[]", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_tracked_prompts", x => x.id);
                    table.ForeignKey(
                        name: "fk_tracked_prompts_analysis_projects_project_id",
                        column: x => x.project_id,
                        principalTable: "analysis_projects",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "analysis_jobs",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    run_id = table.Column<Guid>(type: "uuid", nullable: false),
                    prompt_id = table.Column<Guid>(type: "uuid", nullable: false),
                    project_id = table.Column<Guid>(type: "uuid", nullable: false),
                    prompt_text = table.Column<string>(type: "character varying(4000)", maxLength: 4000, nullable: false),
                    platforms = table.Column<List<string>>(type: "text[]", nullable: false),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    total_platforms = table.Column<int>(type: "integer", nullable: false),
                    completed_platforms = table.Column<int>(type: "integer", nullable: false),
                    failed_platforms = table.Column<int>(type: "integer", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    completed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_analysis_jobs", x => x.id);
                    table.ForeignKey(
                        name: "fk_analysis_jobs_analysis_run_run_id",
                        column: x => x.run_id,
                        principalTable: "analysis_runs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "platform_responses",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    analysis_job_id = table.Column<Guid>(type: "uuid", nullable: false),
                    prompt_id = table.Column<Guid>(type: "uuid", nullable: false),
                    project_id = table.Column<Guid>(type: "uuid", nullable: false),
                    platform = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    model = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                    prompt_text = table.Column<string>(type: "character varying(4000)", maxLength: 4000, nullable: false),
                    response_text = table.Column<string>(type: "text", nullable: true),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    input_tokens = table.Column<long>(type: "bigint", nullable: true),
                    output_tokens = table.Column<long>(type: "bigint", nullable: true),
                    total_tokens = table.Column<long>(type: "bigint", nullable: true),
                    cost = table.Column<decimal>(type: "numeric(18,8)", precision: 18, scale: 8, nullable: true),
                    execution_time_ms = table.Column<int>(type: "integer", nullable: true),
                    metadata_json = table.Column<string>(type: "text", nullable: true),
                    error_message = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    brand_mentioned = table.Column<bool>(type: "boolean", nullable: true),
                    domain_cited = table.Column<bool>(type: "boolean", nullable: true),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    completed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_platform_responses", x => x.id);
                    table.ForeignKey(
                        name: "fk_platform_responses_analysis_jobs_analysis_job_id",
                        column: x => x.analysis_job_id,
                        principalTable: "analysis_jobs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "response_citations",
                columns: table => new
                {
                    response_id = table.Column<Guid>(type: "uuid", nullable: false),
                    position = table.Column<int>(type: "integer", nullable: false),
                    url = table.Column<string>(type: "character varying(4096)", maxLength: 4096, nullable: false),
                    domain = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    title = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: true),
                    is_project_domain = table.Column<bool>(type: "boolean", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_response_citations", x => new { x.response_id, x.position });
                    table.ForeignKey(
                        name: "fk_response_citations_platform_responses_response_id",
                        column: x => x.response_id,
                        principalTable: "platform_responses",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_analysis_jobs_run_id_prompt_id",
                table: "analysis_jobs",
                columns: new[] { "run_id", "prompt_id" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_analysis_jobs_status_created_at",
                table: "analysis_jobs",
                columns: new[] { "status", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_analysis_projects_created_at",
                table: "analysis_projects",
                column: "created_at");

            migrationBuilder.CreateIndex(
                name: "ix_analysis_runs_created_at",
                table: "analysis_runs",
                column: "created_at");

            migrationBuilder.CreateIndex(
                name: "ix_analysis_runs_run_key",
                table: "analysis_runs",
                column: "run_key",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_platform_responses_analysis_job_id_platform",
                table: "platform_responses",
                columns: new[] { "analysis_job_id", "platform" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_platform_responses_prompt_id_created_at",
                table: "platform_responses",
                columns: new[] { "prompt_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_response_citations_domain",
                table: "response_citations",
                column: "domain");

            migrationBuilder.CreateIndex(
                name: "ix_tracked_prompts_active_id",
                table: "tracked_prompts",
                columns: new[] { "active", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_tracked_prompts_project_id_active_id",
                table: "tracked_prompts",
                columns: new[] { "project_id", "active", "id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "prompt_analysis_sagas");

            migrationBuilder.DropTable(
                name: "response_citations");

            migrationBuilder.DropTable(
                name: "tracked_prompts");

            migrationBuilder.DropTable(
                name: "platform_responses");

            migrationBuilder.DropTable(
                name: "analysis_projects");

            migrationBuilder.DropTable(
                name: "analysis_jobs");

            migrationBuilder.DropTable(
                name: "analysis_runs");
        }
    }
}
