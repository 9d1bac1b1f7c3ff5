import io.nats.client.Connection;
import io.nats.client.IterableConsumer;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.OrderedConsumerContext;
import io.nats.client.StreamContext;
import io.nats.client.api.OrderedConsumerConfiguration;
import io.nats.client.api.StreamInfo;
import io.nats.client.impl.Headers;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Small JetStream helper for the benchmark peer (run: java -cp jnats.jar PeerStream.java ...).
 *
 *   info   --nats URL --stream NAME            stream config and state
 *   count  --nats URL --stream NAME            prints the message count
 *   show   --nats URL --stream NAME [--n 3]    prints the first n messages (subject, headers, body)
 *   verify --nats URL --stream NAME --expect N [--ids FILE]
 *          reads the whole stream; checks: N messages, every one has a Nats-Msg-Id header,
 *          the ids are distinct and (with --ids, one id per line) equal the expected set.
 *          Exit code 0 = all checks passed.
 *   wait   --nats URL --stream NAME --expect N [--timeout-s 120]
 *          polls the stream's message count (every 20 ms) until it reaches N; prints the
 *          elapsed ms from the call; exit 1 on timeout
 *   delete --nats URL --stream NAME            deletes the stream (absent = fine)
 */
public class PeerStream {

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            usage();
        }
        String cmd = args[0];
        Map<String, String> opt = new HashMap<>();
        for (int i = 1; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                usage();
            }
            opt.put(args[i].substring(2), args[i + 1]);
        }
        String url = opt.getOrDefault("nats", "nats://127.0.0.1:4222");
        String stream = opt.get("stream");
        if (stream == null) {
            usage();
        }
        Options options = new Options.Builder().server(url).connectionTimeout(Duration.ofSeconds(5)).build();
        int rc;
        try (Connection nc = Nats.connect(options)) {
            JetStreamManagement jsm = nc.jetStreamManagement();
            rc = switch (cmd) {
                case "info" -> info(jsm, stream);
                case "count" -> count(jsm, stream);
                case "show" -> show(nc, stream, Integer.parseInt(opt.getOrDefault("n", "3")));
                case "verify" -> verify(nc, jsm, stream, Long.parseLong(opt.get("expect")), opt.get("ids"));
                case "delete" -> delete(jsm, stream);
                case "wait" -> waitFor(jsm, stream, Long.parseLong(opt.get("expect")),
                        Long.parseLong(opt.getOrDefault("timeout-s", "120")));
                default -> {
                    usage();
                    yield 2;
                }
            };
        }
        System.exit(rc);
    }

    static void usage() {
        System.err.println("usage: PeerStream info|count|show|verify|wait|delete --nats URL --stream NAME "
                + "[--n N] [--expect N] [--ids FILE] [--timeout-s S]");
        System.exit(2);
    }

    static int info(JetStreamManagement jsm, String stream) throws Exception {
        StreamInfo si = jsm.getStreamInfo(stream);
        var c = si.getConfiguration();
        System.out.printf("stream=%s subjects=%s storage=%s replicas=%d duplicate_window=%s description=%s%n",
                c.getName(), c.getSubjects(), c.getStorageType(), c.getReplicas(), c.getDuplicateWindow(),
                c.getDescription());
        var s = si.getStreamState();
        System.out.printf("messages=%d bytes=%d first_seq=%d last_seq=%d%n",
                s.getMsgCount(), s.getByteCount(), s.getFirstSequence(), s.getLastSequence());
        return 0;
    }

    static int count(JetStreamManagement jsm, String stream) throws Exception {
        System.out.println(jsm.getStreamInfo(stream).getStreamState().getMsgCount());
        return 0;
    }

    static int waitFor(JetStreamManagement jsm, String stream, long expect, long timeoutS) throws Exception {
        long t0 = System.nanoTime();
        long deadline = t0 + timeoutS * 1_000_000_000L;
        long n = -1;
        while (System.nanoTime() < deadline) {
            try {
                n = jsm.getStreamInfo(stream).getStreamState().getMsgCount();
            } catch (JetStreamApiException e) {
                if (e.getApiErrorCode() != 10059) {
                    throw e;
                }
                n = 0; // stream not created yet
            }
            if (n >= expect) {
                System.out.printf("reached=%d elapsed_ms=%d%n", n, (System.nanoTime() - t0) / 1_000_000);
                return 0;
            }
            Thread.sleep(20);
        }
        System.out.printf("timeout: count=%d expected=%d after %d s%n", n, expect, timeoutS);
        return 1;
    }

    static int delete(JetStreamManagement jsm, String stream) throws Exception {
        try {
            jsm.deleteStream(stream);
            System.out.println("deleted stream " + stream);
        } catch (JetStreamApiException e) {
            if (e.getApiErrorCode() != 10059) { // stream not found
                throw e;
            }
            System.out.println("no stream " + stream);
        }
        return 0;
    }

    static int show(Connection nc, String stream, int n) throws Exception {
        StreamContext sc = nc.getStreamContext(stream);
        OrderedConsumerContext occ = sc.createOrderedConsumer(new OrderedConsumerConfiguration());
        try (IterableConsumer it = occ.iterate()) {
            for (int i = 0; i < n; i++) {
                Message m = it.nextMessage(Duration.ofSeconds(2));
                if (m == null) {
                    break;
                }
                System.out.println("--- seq " + m.metaData().streamSequence());
                System.out.println("subject: " + m.getSubject());
                Headers h = m.getHeaders();
                if (h == null || h.isEmpty()) {
                    System.out.println("headers: (none)");
                } else {
                    for (String k : h.keySet()) {
                        System.out.println("header:  " + k + ": " + h.get(k));
                    }
                }
                byte[] d = m.getData();
                System.out.println("body (" + d.length + " B): " + new String(d, StandardCharsets.UTF_8));
            }
        }
        return 0;
    }

    static int verify(Connection nc, JetStreamManagement jsm, String stream, long expect, String idsFile)
            throws Exception {
        long inStream = jsm.getStreamInfo(stream).getStreamState().getMsgCount();
        StreamContext sc = nc.getStreamContext(stream);
        OrderedConsumerContext occ = sc.createOrderedConsumer(new OrderedConsumerConfiguration());
        Set<String> ids = new HashSet<>();
        Map<String, Long> subjects = new TreeMap<>();
        Map<String, Long> headerSets = new TreeMap<>();
        long read = 0, noId = 0, dupIds = 0, bytes = 0;
        try (IterableConsumer it = occ.iterate()) {
            while (read < inStream) {
                Message m = it.nextMessage(Duration.ofSeconds(5));
                if (m == null) {
                    break;
                }
                read++;
                bytes += m.getData().length;
                subjects.merge(m.getSubject(), 1L, Long::sum);
                Headers h = m.getHeaders();
                headerSets.merge(h == null ? "(none)" : String.join(",", new TreeMap<>(toMap(h)).keySet()), 1L,
                        Long::sum);
                String id = h == null ? null : h.getFirst("Nats-Msg-Id");
                if (id == null) {
                    noId++;
                } else if (!ids.add(id)) {
                    dupIds++;
                }
            }
        }
        boolean ok = true;
        System.out.printf("stream=%s messages_in_stream=%d read=%d expected=%d avg_body_bytes=%.1f%n",
                stream, inStream, read, expect, read == 0 ? 0.0 : (double) bytes / read);
        System.out.println("subjects: " + (subjects.size() <= 10 ? subjects.toString()
                : subjects.size() + " distinct, e.g. " + subjects.keySet().iterator().next()));
        System.out.println("header key sets: " + headerSets);
        System.out.printf("without Nats-Msg-Id: %d, duplicate Nats-Msg-Id: %d, distinct ids: %d%n",
                noId, dupIds, ids.size());
        if (inStream != expect || read != expect) {
            System.out.println("FAIL: count");
            ok = false;
        }
        if (noId != 0 || dupIds != 0) {
            System.out.println("FAIL: Nats-Msg-Id missing or duplicated");
            ok = false;
        }
        if (idsFile != null) {
            List<String> lines = Files.readAllLines(Path.of(idsFile));
            Set<String> want = new HashSet<>();
            for (String l : lines) {
                if (!l.isBlank()) {
                    want.add(l.trim());
                }
            }
            Set<String> missing = new HashSet<>(want);
            missing.removeAll(ids);
            Set<String> extra = new HashSet<>(ids);
            extra.removeAll(want);
            System.out.printf("ids file: %d ids; missing from stream: %d; not in file: %d%n",
                    want.size(), missing.size(), extra.size());
            if (!missing.isEmpty() || !extra.isEmpty()) {
                System.out.println("FAIL: Nats-Msg-Id set differs from the outbox ids"
                        + (missing.isEmpty() ? "" : " e.g. missing " + missing.iterator().next())
                        + (extra.isEmpty() ? "" : " e.g. extra " + extra.iterator().next()));
                ok = false;
            }
        }
        System.out.println(ok ? "OK" : "FAILED");
        return ok ? 0 : 1;
    }

    static Map<String, String> toMap(Headers h) {
        Map<String, String> m = new HashMap<>();
        for (String k : h.keySet()) {
            m.put(k, h.getFirst(k));
        }
        return m;
    }
}
