// The API's sockets, file modes and runuser tests are Linux-only, like the sandboxes they serve.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
