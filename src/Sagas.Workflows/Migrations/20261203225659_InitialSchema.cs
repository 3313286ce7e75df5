using System;
using System.Collections.Generic;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Sagas.Workflows.Migrations
{
    /// <inheritdoc />
    public partial class InitialSchema : Migration
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
                    total_analyses = table.Column<int>(type: "integer", nullable: true),
                    completed_analyses = table.Column<int>(type: "integer", nullable: true),
                    failed_analyses = table.Column<int>(type: "integer", nullable: true),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_analysis_runs", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "entity_flags",
                columns: table => new
                {
                    entity_type = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    entity_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    flagged = table.Column<bool>(type: "boolean", nullable: false),
                    category = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    confidence = table.Column<double>(type: "double precision", nullable: false),
                    reason = table.Column<string>(type: "text", nullable: false),
                    job_id = table.Column<Guid>(type: "uuid", nullable: false),
                    item_id = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    model = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    simulated = table.Column<bool>(type: "boolean", nullable: false),
                    decided_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_entity_flags", x => new { x.entity_type, x.entity_id });
                });

            migrationBuilder.CreateTable(
                name: "failed_messages",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    message_id = table.Column<Guid>(type: "uuid", nullable: false),
                    message_types = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: false),
                    queue = table.Column<string>(type: "character varying(300)", maxLength: 300, nullable: false),
                    exception_type = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: false),
                    exception_message = table.Column<string>(type: "character varying(4000)", maxLength: 4000, nullable: false),
                    stack_trace = table.Column<string>(type: "character varying(8000)", maxLength: 8000, nullable: true),
                    faulted_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    body = table.Column<byte[]>(type: "bytea", nullable: false),
                    content_type = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    headers = table.Column<string>(type: "text", nullable: false),
                    redelivered_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    redelivery_count = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_failed_messages", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "llm_job_sagas",
                columns: table => new
                {
                    correlation_id = table.Column<Guid>(type: "uuid", nullable: false),
                    current_state = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    version = table.Column<int>(type: "integer", nullable: false),
                    total_items = table.Column<int>(type: "integer", nullable: false),
                    priority = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    mode = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    accepted_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    expires_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    deadline_token_id = table.Column<Guid>(type: "uuid", nullable: true),
                    stop_reason = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: true),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_llm_job_sagas", x => x.correlation_id);
                });

            migrationBuilder.CreateTable(
                name: "llm_jobs",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    kind = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    model = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    instructions = table.Column<string>(type: "text", nullable: false),
                    priority = table.Column<int>(type: "integer", nullable: false),
                    mode = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    provider = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    simulated = table.Column<bool>(type: "boolean", nullable: false),
                    total_items = table.Column<int>(type: "integer", nullable: false),
                    processed_items = table.Column<int>(type: "integer", nullable: false),
                    succeeded_items = table.Column<int>(type: "integer", nullable: false),
                    failed_items = table.Column<int>(type: "integer", nullable: false),
                    cancelled_items = table.Column<int>(type: "integer", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    expires_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    stop_reason = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: true),
                    submitted_by = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    next_poll_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    poll_interval_ms = table.Column<int>(type: "integer", nullable: false),
                    lease_id = table.Column<Guid>(type: "uuid", nullable: true),
                    lease_until = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    last_error = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    revision = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_llm_jobs", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "outbox_messages",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    message_id = table.Column<Guid>(type: "uuid", nullable: false),
                    message_type = table.Column<string>(type: "character varying(300)", maxLength: 300, nullable: false),
                    body = table.Column<string>(type: "text", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_outbox_messages", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "platform_rate_limits",
                columns: table => new
                {
                    platform = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    request_horizon = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    token_horizon = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    paused_until = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    request_floor_seconds = table.Column<double>(type: "double precision", nullable: false),
                    request_floor_until = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    token_floor_seconds = table.Column<double>(type: "double precision", nullable: false),
                    token_floor_until = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    last_slot = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_platform_rate_limits", x => x.platform);
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
                name: "scan_session_sagas",
                columns: table => new
                {
                    correlation_id = table.Column<Guid>(type: "uuid", nullable: false),
                    current_state = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    version = table.Column<int>(type: "integer", nullable: false),
                    total_files = table.Column<int>(type: "integer", nullable: true),
                    total_processed = table.Column<int>(type: "integer", nullable: true),
                    total_matches = table.Column<int>(type: "integer", nullable: true),
                    report_blob_key = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
                    failure_reason = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_scan_session_sagas", x => x.correlation_id);
                });

            migrationBuilder.CreateTable(
                name: "scan_sessions",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    revision = table.Column<long>(type: "bigint", nullable: false),
                    total_files = table.Column<int>(type: "integer", nullable: true),
                    processed_files = table.Column<int>(type: "integer", nullable: false),
                    matched_files = table.Column<int>(type: "integer", nullable: false),
                    total_matches = table.Column<int>(type: "integer", nullable: false),
                    error_files = table.Column<int>(type: "integer", nullable: false),
                    codes_json = table.Column<string>(type: "text", nullable: false),
                    uploads_json = table.Column<string>(type: "text", nullable: false),
                    source_description = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: false),
                    requested_by = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    report_blob_key = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
                    error = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    last_progress_percent = table.Column<int>(type: "integer", nullable: false),
                    last_progress_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    dispatched_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    completed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_scan_sessions", x => x.id);
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
                name: "llm_job_batches",
                columns: table => new
                {
                    job_id = table.Column<Guid>(type: "uuid", nullable: false),
                    batch_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    status = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    item_count = table.Column<int>(type: "integer", nullable: false),
                    input_file_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    output_file_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    error_file_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    results_applied = table.Column<bool>(type: "boolean", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    last_polled_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_llm_job_batches", x => new { x.job_id, x.batch_id });
                    table.ForeignKey(
                        name: "fk_llm_job_batches_llm_job_job_id",
                        column: x => x.job_id,
                        principalTable: "llm_jobs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "llm_job_items",
                columns: table => new
                {
                    job_id = table.Column<Guid>(type: "uuid", nullable: false),
                    item_id = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    sequence = table.Column<int>(type: "integer", nullable: false),
                    entity_type = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    entity_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    input = table.Column<string>(type: "text", nullable: false),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    provider_task_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    provider_batch_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    flagged = table.Column<bool>(type: "boolean", nullable: true),
                    category = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    confidence = table.Column<double>(type: "double precision", nullable: true),
                    reason = table.Column<string>(type: "text", nullable: true),
                    error = table.Column<string>(type: "character varying(4000)", maxLength: 4000, nullable: true),
                    input_tokens = table.Column<int>(type: "integer", nullable: true),
                    output_tokens = table.Column<int>(type: "integer", nullable: true),
                    poll_count = table.Column<int>(type: "integer", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    submitted_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    last_polled_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    completed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_llm_job_items", x => new { x.job_id, x.item_id });
                    table.ForeignKey(
                        name: "fk_llm_job_items_llm_job_job_id",
                        column: x => x.job_id,
                        principalTable: "llm_jobs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "scan_file_results",
                columns: table => new
                {
                    session_id = table.Column<Guid>(type: "uuid", nullable: false),
                    file_index = table.Column<int>(type: "integer", nullable: false),
                    name = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: false),
                    kind = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    locator = table.Column<string>(type: "character varying(4096)", maxLength: 4096, nullable: false),
                    link = table.Column<string>(type: "character varying(4096)", maxLength: 4096, nullable: true),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    matched_codes_json = table.Column<string>(type: "text", nullable: false),
                    match_count = table.Column<int>(type: "integer", nullable: false),
                    error = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    processed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_scan_file_results", x => new { x.session_id, x.file_index });
                    table.ForeignKey(
                        name: "fk_scan_file_results_scan_session_session_id",
                        column: x => x.session_id,
                        principalTable: "scan_sessions",
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
                name: "ix_failed_messages_faulted_at",
                table: "failed_messages",
                column: "faulted_at");

            migrationBuilder.CreateIndex(
                name: "ix_failed_messages_message_id_queue",
                table: "failed_messages",
                columns: new[] { "message_id", "queue" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_failed_messages_queue_faulted_at",
                table: "failed_messages",
                columns: new[] { "queue", "faulted_at" });

            migrationBuilder.CreateIndex(
                name: "ix_llm_job_items_job_id_provider_batch_id",
                table: "llm_job_items",
                columns: new[] { "job_id", "provider_batch_id" });

            migrationBuilder.CreateIndex(
                name: "ix_llm_job_items_job_id_status_sequence",
                table: "llm_job_items",
                columns: new[] { "job_id", "status", "sequence" });

            migrationBuilder.CreateIndex(
                name: "ix_llm_job_items_provider_task_id",
                table: "llm_job_items",
                column: "provider_task_id");

            migrationBuilder.CreateIndex(
                name: "ix_llm_jobs_created_at",
                table: "llm_jobs",
                column: "created_at");

            migrationBuilder.CreateIndex(
                name: "ix_llm_jobs_status_next_poll_at",
                table: "llm_jobs",
                columns: new[] { "status", "next_poll_at" });

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
                name: "ix_scan_sessions_created_at",
                table: "scan_sessions",
                column: "created_at");

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
                name: "entity_flags");

            migrationBuilder.DropTable(
                name: "failed_messages");

            migrationBuilder.DropTable(
                name: "llm_job_batches");

            migrationBuilder.DropTable(
                name: "llm_job_items");

            migrationBuilder.DropTable(
                name: "llm_job_sagas");

            migrationBuilder.DropTable(
                name: "outbox_messages");

            migrationBuilder.DropTable(
                name: "platform_rate_limits");

            migrationBuilder.DropTable(
                name: "prompt_analysis_sagas");

            migrationBuilder.DropTable(
                name: "response_citations");

            migrationBuilder.DropTable(
                name: "scan_file_results");

            migrationBuilder.DropTable(
                name: "scan_session_sagas");

            migrationBuilder.DropTable(
                name: "tracked_prompts");

            migrationBuilder.DropTable(
                name: "llm_jobs");

            migrationBuilder.DropTable(
                name: "platform_responses");

            migrationBuilder.DropTable(
                name: "scan_sessions");

            migrationBuilder.DropTable(
                name: "analysis_projects");

            migrationBuilder.DropTable(
                name: "analysis_jobs");

            migrationBuilder.DropTable(
                name: "analysis_runs");
        }
    }
}
