using System.Runtime.CompilerServices;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Sagas.Messaging.SagaRepository;

/// <summary>
/// Where a saga state type lives in the database, read from the EF model (so a renamed table, a schema or the snake_case
/// convention are followed), and the locking statements built from it. Validated once per model.
/// </summary>
internal sealed class SagaTable<TSaga>
    where TSaga : class, ISaga
{
    private static readonly ConditionalWeakTable<IModel, SagaTable<TSaga>> Tables = [];

    private SagaTable(string table, string? schema, string keyColumn, string lockOne, string lockMany, bool hasVersionToken)
    {
        Table = table;
        Schema = schema;
        KeyColumn = keyColumn;
        LockOneSql = lockOne;
        LockManySql = lockMany;
        HasVersionToken = hasVersionToken;
    }

    public string Table { get; }

    public string? Schema { get; }

    public string KeyColumn { get; }

    /// <summary><c>SELECT * … WHERE key = {0} FOR UPDATE</c>.</summary>
    public string LockOneSql { get; }

    /// <summary>Locks in key order so two query-correlated events never take the same rows in opposite orders (40P01).</summary>
    public string LockManySql { get; }

    public bool HasVersionToken { get; }

    /// <summary>The table of <typeparamref name="TSaga"/> in <paramref name="db"/>'s model, or an error naming the saga and the message.</summary>
    public static SagaTable<TSaga> For(DbContext db, Type messageType)
    {
        if (Tables.TryGetValue(db.Model, out var known))
            return known;

        var table = Read(db, messageType);
        Tables.AddOrUpdate(db.Model, table);
        return table;
    }

    private static SagaTable<TSaga> Read(DbContext db, Type messageType)
    {
        var sagaName = typeof(TSaga).Name;
        var entity = db.Model.FindEntityType(typeof(TSaga));
        if (entity?.GetTableName() is not { } tableName)
        {
            throw new SagaException(
                $"Saga state {sagaName} is not mapped in {db.GetType().Name}, so {messageType.Name} cannot be applied to it. " +
                $"Add a map deriving from SagaStateMap<{sagaName}> to the DbContext's model (see docs/persistence.md).",
                typeof(TSaga), messageType);
        }

        var key = entity.FindPrimaryKey();
        if (key is not { Properties: [{ Name: nameof(ISaga.CorrelationId) } keyProperty] })
        {
            throw new SagaException(
                $"Saga state {sagaName} must have {nameof(ISaga.CorrelationId)} as its only key column (receiving {messageType.Name}).",
                typeof(TSaga), messageType);
        }

        if (keyProperty.ValueGenerated != ValueGenerated.Never)
        {
            throw new SagaException(
                $"Saga state {sagaName}: {nameof(ISaga.CorrelationId)} must never be generated (ValueGeneratedNever), " +
                $"the message decides it (receiving {messageType.Name}).",
                typeof(TSaga), messageType);
        }

        var schema = entity.GetSchema();
        var keyColumn = keyProperty.GetColumnName(StoreObjectIdentifier.Table(tableName, schema))!;
        var sql = db.GetService<ISqlGenerationHelper>();
        var qualifiedTable = sql.DelimitIdentifier(tableName, schema);
        var quotedKey = sql.DelimitIdentifier(keyColumn);
        var version = entity.FindProperty(nameof(ISagaVersion.Version));
        var hasVersionToken = typeof(ISagaVersion).IsAssignableFrom(typeof(TSaga)) && version is { IsConcurrencyToken: true };

        return new SagaTable<TSaga>(
            tableName,
            schema,
            keyColumn,
            $"SELECT * FROM {qualifiedTable} WHERE {quotedKey} = {{0}} FOR UPDATE",
            $"SELECT * FROM {qualifiedTable} WHERE {quotedKey} = ANY({{0}}) ORDER BY {quotedKey} FOR UPDATE",
            hasVersionToken);
    }

    /// <summary>The INSERT of a new instance hit this table's primary key: someone else created the instance first.</summary>
    public bool IsDuplicateKey(DbUpdateException exception) => DatabaseErrors.IsDuplicateKey(exception, Table, Schema);
}
