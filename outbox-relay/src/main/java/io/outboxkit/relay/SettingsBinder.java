package io.outboxkit.relay;

import io.micronaut.context.ApplicationContext;
import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.context.env.Environment;
import io.micronaut.core.bind.annotation.Bindable;
import io.micronaut.core.type.Argument;
import java.lang.reflect.Constructor;
import java.lang.reflect.Parameter;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.util.List;
import java.util.Map;

/**
 * Binds {@link RelayConfig} for the CLI from the same sources as the relay (application.yml, {@code
 * OUTBOXKIT_RELAY_*} environment variables, system properties) plus the CLI's options, with the
 * defaults declared on {@link RelayConfig} itself, without starting an application context (which
 * would start a relay).
 */
final class SettingsBinder {
  private SettingsBinder() {}

  static RelayConfig bind(Map<String, Object> overrides) {
    try (ApplicationContext context =
        ApplicationContext.builder()
            .deduceEnvironment(false)
            .banner(false)
            .properties(overrides)
            .build()) {
      Environment env = context.getEnvironment();
      env.start();
      try {
        return bind(env, "outboxkit.relay", RelayConfig.class);
      } finally {
        env.stop();
      }
    }
  }

  private static <T> T bind(Environment env, String prefix, Class<T> type) {
    RecordComponent[] components = type.getRecordComponents();
    Class<?>[] types = new Class<?>[components.length];
    for (int i = 0; i < components.length; i++) {
      types[i] = components[i].getType();
    }
    try {
      Constructor<T> constructor = type.getDeclaredConstructor(types);
      Parameter[] params = constructor.getParameters();
      Object[] args = new Object[components.length];
      for (int i = 0; i < components.length; i++) {
        RecordComponent c = components[i];
        ConfigurationProperties nested = c.getType().getAnnotation(ConfigurationProperties.class);
        if (c.getType().isRecord() && nested != null) {
          args[i] = bind(env, prefix + "." + nested.value(), c.getType());
          continue;
        }
        Argument<?> arg =
            c.getGenericType() instanceof ParameterizedType p && c.getType() == List.class
                ? Argument.listOf((Class<?>) p.getActualTypeArguments()[0])
                : Argument.of(c.getType());
        String key = prefix + "." + kebab(c.getName());
        Object value = env.getProperty(key, arg).orElse(null);
        if (value == null) {
          Bindable b = params[i].getAnnotation(Bindable.class);
          if (b != null && !b.defaultValue().isEmpty()) {
            value = env.convert(b.defaultValue(), arg).orElse(null);
          }
        }
        if (value == null && c.getType().isPrimitive()) {
          throw RelayException.badSetting(key, "is not set", "give a value");
        }
        args[i] = value;
      }
      constructor.setAccessible(true);
      return constructor.newInstance(args);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot bind " + type.getName() + ": " + e, e);
    }
  }

  /** {@code slotName} → {@code slot-name}. */
  private static String kebab(String camel) {
    StringBuilder sb = new StringBuilder();
    for (char ch : camel.toCharArray()) {
      if (Character.isUpperCase(ch)) {
        sb.append('-').append(Character.toLowerCase(ch));
      } else {
        sb.append(ch);
      }
    }
    return sb.toString();
  }
}
