using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace Reelay.Storage.Sqlite;

/// <summary>
/// How many frames the WAL holds, as SQLite reports after every commit on this process's connections
/// (<c>sqlite3_wal_hook</c>, which SQLitePCLRaw does not wrap). The checkpointer reads it to know when
/// to empty the log: once a restarted log is written over from the start of the file, the file's size
/// no longer says how full it is.
/// </summary>
internal sealed unsafe partial class SqliteWalFrames
{
    // Never freed: a pooled connection can outlive the database that registered its hook, and the hook
    // must still find a live object (a few bytes for each database opened in the process's lifetime).
    private readonly IntPtr _self;
    private int _frames;

    public SqliteWalFrames() => _self = GCHandle.ToIntPtr(GCHandle.Alloc(this));

    /// <summary>Frames in the log after this process's last commit; 0 once it was emptied and nothing committed since.</summary>
    public int Frames => Volatile.Read(ref _frames);

    /// <summary>Reports this connection's commits. It replaces SQLite's automatic checkpoint hook, which Reelay turns off anyway.</summary>
    public void Watch(SqliteConnection connection) => _ = sqlite3_wal_hook(connection.Handle!.DangerousGetHandle(), &OnCommit, _self);

    /// <summary>A checkpoint emptied the log, with this process's writers held: the next commit starts it over.</summary>
    public void Emptied() => Volatile.Write(ref _frames, 0);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnCommit(IntPtr self, IntPtr db, byte* schema, int frames)
    {
        Volatile.Write(ref ((SqliteWalFrames)GCHandle.FromIntPtr(self).Target!)._frames, frames);
        return 0;
    }

    [LibraryImport("e_sqlite3")]
    private static partial IntPtr sqlite3_wal_hook(IntPtr db, delegate* unmanaged[Cdecl]<IntPtr, IntPtr, byte*, int, int> callback, IntPtr self);
}
