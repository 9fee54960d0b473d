import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

/**
 * A single-node OpenSearch for tests, started from the jars Maven put in lib/ (see pom.xml).
 *
 * <p>Usage: {@code OpenSearchNode HOME HTTP_PORT [PLUGIN_CLASS...]}. The distribution's bootstrap is not used: it
 * checks jar hell, installs a SecurityManager, refuses root and wants modules as plugin bundles. Instead the modules
 * are plain jars on the classpath, handed to Node by class (its constructor for that is protected, hence the
 * subclass). No security plugin is loaded, so HTTP is plain and unauthenticated.
 */
public final class OpenSearchNode {
    private static final List<String> MODULES = List.of(
            "org.opensearch.transport.Netty4Plugin",
            "org.opensearch.analysis.common.CommonAnalysisPlugin",
            "org.opensearch.painless.PainlessPlugin",
            "org.opensearch.index.mapper.MapperExtrasPlugin",
            "org.opensearch.index.reindex.ReindexPlugin");

    private static final class ClasspathNode extends Node {
        ClasspathNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }

        // Writes node/cluster ids into the log4j context of a real distribution; nothing to do here.
        @Override
        protected void configureNodeAndClusterIdStateListener(ClusterService clusterService) {}
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: OpenSearchNode HOME HTTP_PORT [PLUGIN_CLASS...]");
            System.exit(2);
        }
        int httpPort = Integer.parseInt(args[1]);
        Settings settings = Settings.builder()
                .put("path.home", Path.of(args[0]).toAbsolutePath().toString())
                .put("cluster.name", "pipeline-test")
                .put("node.name", "node-1")
                .put("discovery.type", "single-node")
                .put("network.host", "127.0.0.1")
                .put("http.port", httpPort)
                .put("transport.port", httpPort + 100)
                // Test machines have small, full disks: never turn indices read-only for that.
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                .build();
        Environment environment = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> "node-1");
        LogConfigurator.registerErrorListener();
        LogConfigurator.configure(environment);

        List<String> classNames = new ArrayList<>(MODULES);
        classNames.addAll(List.of(args).subList(2, args.length));
        List<Class<? extends Plugin>> plugins = new ArrayList<>();
        for (String name : classNames) {
            plugins.add(Class.forName(name).asSubclass(Plugin.class)); // a missing jar fails loudly here
        }

        Node node = new ClasspathNode(environment, plugins);
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                closed.countDown();
            }
        }, "opensearch-shutdown"));
        try {
            node.start();
        } catch (Exception e) {
            e.printStackTrace();
            System.exit(1);
        }
        closed.await(); // OpenSearch's threads are daemons: main keeps the JVM alive until shutdown
    }
}
